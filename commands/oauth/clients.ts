/**
 * OAuth2 clients are applications; the client_id is the application id. Lookups read
 * the application's stream, not a read model, so a secret or a block takes effect at once.
 */
import { applicationDecider, applicationStreamName, canGetTokens, type ExistingApplication } from '../../domain/application/application.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import { loadState } from '../load-state.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The application, whatever its status; null when there is none. */
export async function findClient(eventStore: EventStore, clientId: unknown): Promise<ExistingApplication | null> {
  if (typeof clientId !== 'string' || !uuidPattern.test(clientId)) return null
  const state = await loadState(applicationDecider, applicationStreamName(clientId.toLowerCase()), eventStore)
  return state.status === 'none' ? null : state
}

export type ClientCheck =
  | { readonly ok: true; readonly client: ExistingApplication }
  | { readonly ok: false; readonly reason: string }

/**
 * A confidential client proves itself with its secret; `secret === null` is a public
 * client (client_id only), which the caller allows only where that is safe. An inactive
 * or blocked application gets no token either way.
 */
export async function checkClient(
  deps: { eventStore: EventStore; secrets: Secrets },
  clientId: unknown,
  secret: string | null,
): Promise<ClientCheck> {
  const client = await findClient(deps.eventStore, clientId)
  if (!client) return { ok: false, reason: 'Unknown client' }
  if (secret !== null && !deps.secrets.sameHash(deps.secrets.hashToken(secret), client.secretHash)) {
    return { ok: false, reason: 'Client authentication failed' }
  }
  if (!canGetTokens(client)) return { ok: false, reason: `The application is ${client.status}` }
  return { ok: true, client }
}
