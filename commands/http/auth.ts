/**
 * The bearer-token seam. passport's bearer strategy hands the token to a verifier (the
 * JWT adapter), and every handler after `requireBearer` finds the caller in
 * `principalOf(req)`: the account it acts for, who it is, and its roles.
 */
import passport from 'passport'
import { Strategy as BearerStrategy } from 'passport-http-bearer'
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

export function bearerAuthentication(verify: TokenVerifier): RequestHandler {
  const authenticator = new passport.Passport()
  // Why a token was refused, kept per request: passport only passes on its challenge string.
  const refusals = new WeakMap<Request, UnauthenticatedError>()
  authenticator.use(
    new BearerStrategy({ passReqToCallback: true }, (req: Request, token: string, done: (error: unknown, user?: Express.User | false) => void) => {
      try {
        done(null, { principal: verify(token) })
      } catch (error) {
        if (!(error instanceof UnauthenticatedError)) return done(error)
        refusals.set(req, error)
        done(null, false)
      }
    }),
  )
  return (req, res, next) => {
    authenticator.authenticate('bearer', { session: false }, (error: unknown, user: Express.User | false) => {
      if (error) return next(error)
      if (!user) return next(refusals.get(req) ?? new UnauthenticatedError(noToken))
      req.user = user
      next()
    })(req, res, next)
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
