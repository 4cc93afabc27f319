/** Every read model the server keeps. Adding a projection means adding it here. */
import { asAnyProjection, type AnyProjection } from './projection.ts'
import { thingTypesProjection } from './thing-types.ts'

export const allProjections: readonly AnyProjection[] = [asAnyProjection(thingTypesProjection)]
