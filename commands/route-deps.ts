/**
 * What every resource's routes receive from the composition root. Routes never read
 * the environment, open connections or import adapters: they get their ports here.
 */
import type { RequestHandler } from 'express'
import type { EventStore } from './event-store.ts'
import type { OpenApiDocument } from './http/openapi.ts'
import type { ReadStore } from '../projections/read-store.ts'

export interface RouteDeps {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly now: () => Date
  readonly newId: () => string
  /** resolves once the read models include the event at `position` (bounded wait) */
  readonly readYourWrites: (position: number | null) => Promise<void>
  readonly requireBearer: RequestHandler
  readonly openapi: OpenApiDocument
}
