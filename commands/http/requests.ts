/** What every resource's routes take from a request the same way. */
import type { Request } from 'express'
import { z } from 'zod'
import type { NotFoundError } from '../../domain/errors.ts'
import type { CommandContext } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { metadataOf } from './auth.ts'

/** The command handler's context for a write made by this request. */
export function commandContextOf(
  deps: Pick<RouteDeps, 'eventStore' | 'now' | 'newId'>,
  req: Request,
  ifMatchRevision?: number,
): CommandContext {
  return {
    eventStore: deps.eventStore,
    now: deps.now,
    newId: deps.newId,
    metadata: metadataOf(req),
    ...(ifMatchRevision === undefined ? {} : { ifMatchRevision }),
  }
}

const uuid = z.uuid()

/** A path parameter that must be a UUID; anything else names no resource, so it is a 404. */
export function uuidParamOf(req: Request, name: string, notFound: (value: string) => NotFoundError): string {
  const value = String(req.params[name])
  if (!uuid.safeParse(value).success) throw notFound(value)
  return value
}
