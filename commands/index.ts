/** Every resource's routes, and the writes the server makes on its own at start. */
import type { RequestHandler } from 'express'
import { builtInThingTypes } from '../domain/thing-type/thing-type.ts'
import type { EventStore } from '../domain/ports/event-store.ts'
import { registerThingType } from './thing-type/register-thing-type.ts'
import { thingTypeEndpoints } from './thing-type/routes.ts'
import { mqttClientEndpoints } from './client/routes.ts'
import { provisioningEndpoints } from './provisioning/routes.ts'
import { thingEndpoints } from './thing/routes.ts'
import { dataEndpoints } from './thing/data-routes.ts'
import { ruleEndpoints } from './rule/routes.ts'
import { deliveryEndpoints } from './delivery/routes.ts'
import { jobEndpoints } from './job/routes.ts'
import { routerOf } from './http/endpoint.ts'
import type { RouteDeps } from './route-deps.ts'
import { authRoutes } from './auth-routes.ts'
import { seedConsoleApplication } from './console/console-application.ts'
import { auditEndpoints } from './audit/routes.ts'
import { applicationEndpoints } from './application/routes.ts'

export function platformRoutes(deps: RouteDeps): RequestHandler[] {
  return [
    // one list, in an order routerOf accepts: GET /v1.1/things/types before GET /v1.1/things/{thingId}, or the start fails
    routerOf(deps, [
      ...thingTypeEndpoints(deps),
      ...provisioningEndpoints(deps),
      ...thingEndpoints(deps),
      ...mqttClientEndpoints(deps),
      ...ruleEndpoints(deps),
      ...jobEndpoints(deps),
      ...deliveryEndpoints(deps),
      ...applicationEndpoints(deps),
      ...dataEndpoints(deps),
      ...auditEndpoints(deps),
    ]),
    ...authRoutes(deps),
  ]
}

/**
 * Registers the built-in thing types and the dashboard's OAuth client. Idempotent: on every start after the first,
 * each decide finds the type already there and records nothing.
 */
export async function seedBuiltIns(deps: { eventStore: EventStore; now: () => Date; newId: () => string }): Promise<number | null> {
  let position: number | null = null
  for (const type of builtInThingTypes) {
    const result = await registerThingType(
      {
        name: type.name,
        description: type.description,
        model: type.model,
        version: type.version,
        manufacturer: type.manufacturer,
        transport_protocol: type.transportProtocol,
        protocol_version: type.protocolVersion,
        category: type.category,
        subcategory: type.subcategory,
        data_type: type.dataType,
      },
      null,
      type.typeId,
      {
        eventStore: deps.eventStore,
        now: deps.now,
        newId: deps.newId,
        metadata: {
          actor: { type: 'system', id: 'capsicum' },
          account_id: null,
          client_id: null,
          correlation_id: 'seed-built-ins',
          causation_id: 'seed-built-ins',
        },
      },
    )
    position = result.position ?? position
  }
  return (await seedConsoleApplication(deps)) ?? position
}
