/**
 * What the auth server's use cases need beyond the event store and the secrets port: the
 * access-token issuer, and event metadata for the request at hand (which may have no
 * bearer token: a login, a sign-up, a token request).
 */
import type { Request } from 'express'
import type { Role } from './http/auth.ts'
import type { Actor, EventMetadata } from '../domain/ports/event-store.ts'

export interface AccessTokenClaims {
  readonly sub: string
  readonly account_id: string
  readonly roles: readonly Role[]
  readonly client_id?: string
  readonly user_id?: string
  readonly application_id?: string
  readonly scope?: string
}

/** The access-token port (adapters/tokens.ts): RS256 JWTs with a fresh `jti`. */
export interface AccessTokenIssuer {
  /** the tokens' `iss` (JWT_ISSUER) */
  readonly issuer: string
  issue(claims: AccessTokenClaims): { readonly token: string; readonly expiresIn: number }
}

export function requestMetadata(
  req: Request,
  who: { actor: Actor; accountId: string | null; clientId: string | null },
): Omit<EventMetadata, 'time'> {
  const requestId = String(req.id)
  return {
    actor: who.actor,
    account_id: who.accountId,
    client_id: who.clientId,
    correlation_id: requestId,
    causation_id: requestId,
  }
}

export const anonymous: Actor = { type: 'system', id: 'anonymous' }
