/**
 * What every resource's routes receive from the composition root. Routes never read
 * the environment, open connections or import adapters: they get their ports here.
 */
import type { RequestHandler } from 'express'
import type { EventStore } from '../domain/ports/event-store.ts'
import type { FollowerRegistry } from '../projections/log-follower.ts'
import type { SecretBox } from '../domain/ports/secret-box.ts'
import type { Secrets } from '../domain/ports/secrets.ts'
import type { AccessTokenIssuer } from './auth-deps.ts'
import type { OpenApiDocument } from './http/openapi.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'
import type { TelemetryStream } from '../domain/ports/telemetry-stream.ts'
import type { AuditSigner } from '../domain/ports/audit-signer.ts'

export interface RouteDeps {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly now: () => Date
  readonly newId: () => string
  /** resolves once the read models include the event at `position` (bounded wait) */
  readonly readYourWrites: (position: number | null) => Promise<void>
  /**
   * The log position this node's projector has applied, or undefined when the read models
   * are kept by another node (then no answer may be cached against it).
   */
  readonly readModelsPosition?: () => number | null | undefined
  readonly requireBearer: RequestHandler
  readonly openapi: OpenApiDocument
  /** seals the MQTT secrets with the server key (adapters/secret-box.ts) */
  readonly secretBox: SecretBox
  /** password hashing, random tokens, token hashes (adapters/secrets.ts) */
  readonly secrets: Secrets
  /** signs access tokens (adapters/tokens.ts) */
  readonly accessTokens: AccessTokenIssuer
  /** signs the head of an audit export with the token key (adapters/tokens.ts) */
  readonly auditSigner: AuditSigner
  /** where devices' readings go (the HTTP ingest produces onto it) */
  readonly telemetry: TelemetryStream
  /** the port devices connect to over MQTT on this node (shown by the dashboard); null without one */
  readonly mqttPort?: number | null
  /** where people and clients reach this server (PUBLIC_URL, or the address it listens on) */
  readonly publicUrl: () => string
  /** aborted when the server begins to shut down: long-lived answers (event streams) end */
  readonly shutdown: AbortSignal
  /** where the live telemetry feed's follower is reported (readiness, metrics) */
  readonly followers?: FollowerRegistry
}
