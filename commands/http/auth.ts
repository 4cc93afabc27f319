/**
 * The bearer-token seam. The token a request carries goes to a verifier (the JWT
 * adapter), and every handler after `requireBearer` finds the caller in
 * `principalOf(req)`: the account it acts for, who it is, and its roles.
 */
import type { Request, RequestHandler } from 'express'
import { UnauthenticatedError } from '../../domain/errors.ts'
import type { Actor, EventMetadata } from '../../domain/ports/event-store.ts'

export const roles = ['admin', 'management'] as const
export type Role = (typeof roles)[number]

export interface Principal {
  /** the account every read and write of this request is checked against */
  readonly accountId: string
  readonly userId: string | null
  readonly applicationId: string | null
  readonly clientId: string | null
  readonly roles: readonly Role[]
  /** scopes granted to the token (absent or empty: none asked for) */
  readonly scope?: readonly string[]
}

/** Verifies a bearer token; throws UnauthenticatedError with the reason when it is not good. */
export type TokenVerifier = (token: string) => Principal

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface User {
      principal: Principal
    }
  }
}

const noToken = 'A bearer token is required (Authorization: Bearer <token>)'

/**
 * The bearer token of a request as RFC 6750 sends it (section 2): the Authorization
 * header, else `access_token` in a form body or in the query; undefined when there is
 * none. More than one of them is refused, as the RFC demands.
 */
export function bearerTokenOf(req: Request): string | undefined {
  let token: string | undefined
  const header = req.headers.authorization
  if (header) {
    const space = header.indexOf(' ')
    if (space < 0 || header.indexOf(' ', space + 1) >= 0) throw new UnauthenticatedError('The Authorization header must be "Bearer <token>"')
    if (header.slice(0, space).toLowerCase() === 'bearer') token = header.slice(space + 1)
  }
  const inBody = (req.body as Record<string, unknown> | undefined)?.access_token
  // (express parses the query on every read of req.query: only when there is one)
  const inQuery = req.url.includes('?') ? (req.query as Record<string, unknown>).access_token : undefined
  for (const value of [inBody, inQuery]) {
    if (!value) continue
    if (token !== undefined) throw new UnauthenticatedError('Send the bearer token one way only (RFC 6750): the Authorization header, the body or the query')
    if (typeof value === 'string') token = value
  }
  return token || undefined
}

/**
 * The check in front of every API route: the request's bearer token, verified (the
 * verifier keeps what it verified), becomes `req.user`. Without passport's per-request
 * strategy instance and session hooks: they cost this path more than the check itself
 * (passport stays where it pays: client authentication and the login form).
 * `thenCheck` runs once the caller is known (the API rate limits), in the same step.
 */
export function bearerAuthentication(verify: TokenVerifier, thenCheck?: RequestHandler): RequestHandler {
  return (req, res, next) => {
    let principal: Principal
    try {
      const token = bearerTokenOf(req)
      if (token === undefined) return next(new UnauthenticatedError(noToken))
      principal = verify(token)
    } catch (error) {
      return next(error)
    }
    req.user = { principal }
    if (thenCheck) thenCheck(req, res, next)
    else next()
  }
}

export function principalOf(req: Request): Principal {
  if (!req.user) throw new UnauthenticatedError()
  return req.user.principal
}

export function actorOf(principal: Principal): Actor {
  if (principal.userId) return { type: 'user', id: principal.userId }
  if (principal.applicationId) return { type: 'application', id: principal.applicationId }
  return { type: 'system', id: 'operator' }
}

/** Event metadata for a write made by this request (the time is added by the command handler). */
export function metadataOf(req: Request): Omit<EventMetadata, 'time'> {
  const principal = principalOf(req)
  const requestId = String(req.id)
  return {
    actor: actorOf(principal),
    account_id: principal.accountId,
    client_id: principal.clientId,
    correlation_id: requestId,
    causation_id: requestId,
  }
}
