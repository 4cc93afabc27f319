/** Every read model the server keeps. Adding a projection means adding it here. */
import { asAnyProjection, type AnyProjection } from './projection.ts'
import { thingTypesProjection } from './thing-types.ts'
import { usersProjection } from './users.ts'
import { applicationsProjection } from './applications.ts'
import { thingsProjection } from './things.ts'
import { thingCommandsProjection } from './thing-commands.ts'
import { mqttClientsProjection } from './mqtt-clients.ts'
import { provisionedDevicesProjection } from './provisioned-devices.ts'
import { thingReadingsProjection } from './thing-readings.ts'
import { rulesProjection } from './rules.ts'
import { deliveriesProjection } from './deliveries.ts'
import { jobsProjection } from './jobs.ts'
import { jobRunsProjection } from './job-runs.ts'

export const allProjections: readonly AnyProjection[] = [
  asAnyProjection(thingTypesProjection),
  asAnyProjection(usersProjection),
  asAnyProjection(applicationsProjection),
  asAnyProjection(thingsProjection),
  asAnyProjection(thingCommandsProjection),
  asAnyProjection(mqttClientsProjection),
  asAnyProjection(provisionedDevicesProjection),
  asAnyProjection(thingReadingsProjection),
  asAnyProjection(rulesProjection),
  asAnyProjection(deliveriesProjection),
  asAnyProjection(jobsProjection),
  asAnyProjection(jobRunsProjection),
]
