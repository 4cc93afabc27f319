/**
 * Client authentication at the token and revocation endpoints (RFC 6749 2.3.1): HTTP
 * Basic (passport-http) or client_id and client_secret in the body
 * (passport-oauth2-client-password). A request with a client_id and no secret is a
 * public client; the exchanges decide where that is enough (the password grant, as the
 * API text's curl example shows; refresh; a code with PKCE). Failures answer RFC 6749's
 * `invalid_client` with 401.
 */
import passport from 'passport'
import { BasicStrategy } from 'passport-http'
import { Strategy as ClientPasswordStrategy } from 'passport-oauth2-client-password'
import type { Request, RequestHandler } from 'express'
import type { ExistingApplication } from '../../domain/application/application.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
import { FailureBackoff, retryAfterSeconds } from '../auth-backoff.ts'
import { checkClient } from './clients.ts'
import type { ClientAuthInfo } from './oauth-server.ts'

export interface AuthenticatedClient {
  readonly client: ExistingApplication
  readonly public: boolean
}

const clients = new WeakMap<Request, AuthenticatedClient>()

export function authenticatedClient(req: Request): AuthenticatedClient | undefined {
  return clients.get(req)
}

/** An RFC 6749 5.2 error of the token routes, answered by their one error mapper (tokenErrors in token-routes.ts). */
export class TokenRouteError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description)
  }
}

function invalidClient(description: string, basic: boolean): TokenRouteError {
  return new TokenRouteError(401, 'invalid_client', description, { ...(basic ? { 'WWW-Authenticate': 'Basic realm="capsicum"' } : {}), 'Cache-Control': 'no-store' })
}

/** RFC 6749 has no error for this; `temporarily_unavailable` is the nearest of its codes, with 429 and Retry-After. */
function tooManyFailures(seconds: number): TokenRouteError {
  return new TokenRouteError(
    429,
    'temporarily_unavailable',
    `Too many failed client authentications from this address or for this client: try again in ${seconds} s`,
    { 'Retry-After': String(seconds), 'Cache-Control': 'no-store' },
  )
}

export function clientAuthentication(deps: { eventStore: EventStore; secrets: Secrets; now: () => Date }): RequestHandler {
  const authenticator = new passport.Passport()
  const refusals = new WeakMap<Request, string>()
  /** requests refused unchecked by the failure backoff: seconds to wait */
  const throttled = new WeakMap<Request, number>()
  const failedSecrets = new FailureBackoff(deps.now)
  type Verified = (error: unknown, user?: Express.User | false) => void
  const verify = (req: Request, clientId: string, secret: string, done: Verified): void => {
    const address = req.ip ?? 'unknown'
    const wait = failedSecrets.retryAfterMs(address, clientId)
    if (wait > 0) {
      throttled.set(req, retryAfterSeconds(wait))
      return done(null, false)
    }
    checkClient(deps, clientId, secret).then((check) => {
      if (!check.ok) {
        // Only a wrong secret (or an unknown id) is a guess; an inactive application's right secret is not.
        if (check.reason === 'Unknown client' || check.reason === 'Client authentication failed') failedSecrets.failed(address, clientId)
        refusals.set(req, check.reason)
        return done(null, false)
      }
      failedSecrets.succeeded(clientId)
      clients.set(req, { client: check.client, public: false })
      done(null, { principal: { accountId: check.client.accountId, userId: null, applicationId: check.client.applicationId, clientId: check.client.applicationId, roles: [] } })
    }, done)
  }
  authenticator.use(new BasicStrategy({ passReqToCallback: true }, (req: Request, id: string, secret: string, done: Verified) => verify(req, decodeURIComponent(id), decodeURIComponent(secret), done)))
  authenticator.use(new ClientPasswordStrategy({ passReqToCallback: true }, (req: Request, id: string, secret: string, done: Verified) => verify(req, id, secret, done)))

  return (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>
    const basic = /^basic /i.test(req.get('authorization') ?? '')
    // oauth2orize's exchanges find the client in `req.oauthClient`, and ours their context in `req.authInfo`.
    const setAuthInfo = (isPublic: boolean): void => {
      const info: ClientAuthInfo = { public: isPublic, req }
      Object.assign(req, { authInfo: info, oauthClient: clients.get(req)!.client })
    }
    if (basic || typeof body.client_secret === 'string') {
      authenticator.authenticate(basic ? 'basic' : 'oauth2-client-password', { session: false }, (error: unknown, user: Express.User | false) => {
        if (error) return next(error)
        const wait = throttled.get(req)
        if (wait !== undefined) return next(tooManyFailures(wait))
        if (!user) return next(invalidClient(refusals.get(req) ?? 'Client authentication failed', basic))
        if (basic && typeof body.client_id === 'string' && body.client_id !== clients.get(req)?.client.applicationId) {
          return next(invalidClient('client_id does not match the authenticated client', basic))
        }
        setAuthInfo(false)
        next()
      })(req, res, next)
      return
    }
    if (typeof body.client_id !== 'string' || body.client_id === '') return next(invalidClient('Client authentication is required (client_id)', false))
    checkClient(deps, body.client_id, null).then((check) => {
      if (!check.ok) return next(invalidClient(check.reason, false))
      clients.set(req, { client: check.client, public: true })
      setAuthInfo(true)
      next()
    }, next)
  }
}
