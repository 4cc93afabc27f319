/**
 * The authorize step and the pages of the login flow: GET / and GET /oauth/authorize,
 * the login and sign-up forms, the consent form and its decision, and POST /logout.
 *
 * Errors follow the API text and RFC 6749 4.1.2.1, except where a redirect would be an
 * open redirect: an unknown client_id, or a redirect_uri missing or not whitelisted for
 * that client, get an error page and never a redirect (ARCHITECTURE.md section 5). Every
 * other error goes back to the redirect URI with `error` and the `state`. `state` is
 * required. PKCE (S256) is honoured when a challenge is sent.
 */
import { Router, type Request, type RequestHandler, type Response, type ErrorRequestHandler } from 'express'
import oauth2orize from 'oauth2orize'
import passport from 'passport'
import { Strategy as LocalStrategy } from 'passport-local'
import type { ExistingApplication } from '../../domain/application/application.ts'
import { CapsicumError } from '../../domain/errors.ts'
import { hasConsented, userDecider, userStreamName } from '../../domain/user/user.ts'
import { anonymous, requestMetadata } from '../auth-deps.ts'
import { isConsoleApplication, isRegisteredRedirect, originOf } from '../console/console-application.ts'
import { handleCommand } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { registerOrNotifyOwner } from '../user/register-user.ts'
import { createUserBody, minPasswordLength } from '../user/schemas.ts'
import { findClient } from './clients.ts'
import { checkCredentials, invalidCredentialsMessage, lockedOutMessage, recordLogin, type LoginOutcome } from './credentials.ts'
import type { createOAuthServer, Transaction } from './oauth-server.ts'
import { csrfToken, endSsoSession, render, renderError, requireCsrf, safeReturnTo, ssoUserLoader, startSsoSession } from './web.ts'

type OAuthServer = ReturnType<typeof createOAuthServer>

/** Appends RFC 6749 parameters to a redirect URI: the query for `code`, the fragment for `token`. */
export function redirectWith(redirectUri: string, params: Record<string, string | undefined>, fragment: boolean): string {
  const encoded = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString()
  if (fragment) return `${redirectUri}#${encoded}`
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${encoded}`
}

interface CheckedAuthorize {
  readonly client: ExistingApplication
  readonly redirectUri: string
}

/**
 * The checks that decide whether the client may be told anything at all. Returns null
 * after answering with an error page; otherwise the client and its whitelisted URI.
 */
async function checkClientAndRedirect(deps: RouteDeps, query: Record<string, unknown>, req: Request, res: Response): Promise<CheckedAuthorize | null> {
  const client = await findClient(deps.eventStore, query.client_id)
  if (!client) {
    renderError(res, 400, 'Unknown application', 'The application that sent you here is not known (client_id is missing or wrong). You have not been sent back to it.')
    return null
  }
  const redirectUri = query.redirect_uri
  if (!isRegisteredRedirect(client, redirectUri, originOf(req))) {
    renderError(res, 400, 'Wrong redirect address', 'The address the application wants you sent back to (redirect_uri) is missing or not registered for it. You have not been sent there.')
    return null
  }
  return { client, redirectUri }
}

export function authorizeRoutes(deps: RouteDeps, server: OAuthServer): Router {
  const router = Router()
  const { secrets } = deps
  const csrf = requireCsrf(secrets)
  const loadSsoUser = ssoUserLoader(deps)
  const anonymousMetadata = (req: Request) => requestMetadata(req, { actor: anonymous, accountId: null, clientId: null })

  // passport-local checks the login form; the outcome (ok, wrong, locked) goes to the route.
  const authenticator = new passport.Passport()
  const outcomes = new WeakMap<Request, LoginOutcome>()
  authenticator.use(
    new LocalStrategy({ usernameField: 'email', passwordField: 'password', passReqToCallback: true }, (req: Request, email: string, password: string, done: (error: unknown, user?: Express.User | false) => void) => {
      checkCredentials(email, password, req.ip ?? 'unknown', deps, anonymousMetadata(req)).then((outcome) => {
        outcomes.set(req, outcome)
        done(null, outcome.outcome === 'ok' ? { principal: { accountId: outcome.user.accountId, userId: outcome.user.userId, applicationId: null, clientId: null, roles: [] } } : false)
      }, done)
    }),
  )

  // The authorize step ----------------------------------------------------------------

  const preflight: RequestHandler = async (req, res, next) => {
    const query = req.query as Record<string, unknown>
    if (req.path === '/' && query.response_type === undefined && query.client_id === undefined) {
      res.redirect(303, req.ssoUser ? '/console' : '/login')
      return
    }
    const checked = await checkClientAndRedirect(deps, query, req, res)
    if (!checked) return
    const type = query.response_type
    const state = typeof query.state === 'string' && query.state !== '' ? query.state : undefined
    const back = (error: string, description: string): void =>
      res.redirect(303, redirectWith(checked.redirectUri, { error, error_description: description, state }, type === 'token'))
    if (type !== 'code' && type !== 'token') return back('unsupported_response_type', 'response_type must be code or token')
    if (!state) return back('invalid_request', 'state is required')
    if (checked.client.status !== 'active') return back('unauthorized_client', `The application is ${checked.client.status}`)
    if (query.code_challenge !== undefined) {
      if (query.code_challenge_method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256')
      if (typeof query.code_challenge !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(query.code_challenge)) {
        return back('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)')
      }
    }
    next()
  }

  const authorization = server.authorization(
    (areq: { clientID: string; redirectURI: string }, done: (error: Error | null, client?: ExistingApplication | false, redirectUri?: string) => void) => {
      findClient(deps.eventStore, areq.clientID).then((client) => done(null, client ?? false, areq.redirectURI), done)
    },
    (client: ExistingApplication, user: Transaction['user'], scope: string[] | undefined, _type: string, _areq: unknown, done: (error: Error | null, allow: boolean, info?: object) => void) => {
      // A returning user who already allowed this application as much goes straight back;
      // so does anyone signing in to our own dashboard.
      if (user && (isConsoleApplication(client) || hasConsented(user, client.applicationId, scope ?? []))) return done(null, true, { scope: scope ?? [] })
      done(null, false)
    },
  )
  const withSsoUserAsOAuthUser: RequestHandler = (req, _res, next) => {
    // oauth2orize reads the resource owner from `req.user`; for the pages that is the SSO user.
    Object.assign(req, { user: req.ssoUser })
    next()
  }

  const prompt: RequestHandler = (req, res) => {
    const txn = req.oauth2!
    if (!req.ssoUser) {
      const returnTo = safeReturnTo(req.originalUrl)
      render(res, 'login', 'Log in', { csrf: csrfToken(req, res, secrets), returnTo, clientName: txn.client.name })
      return
    }
    render(res, 'consent', 'Allow access', {
      csrf: csrfToken(req, res, secrets),
      transactionId: txn.transactionID,
      clientName: txn.client.name,
      email: req.ssoUser.email,
      scopes: txn.req.scope ?? [],
    })
  }

  const authorizationErrors = server.authorizationErrorHandler()
  const pageErrors: ErrorRequestHandler = (error, req, res, _next) => {
    if (error instanceof oauth2orize.OAuth2Error || error instanceof CapsicumError) {
      renderError(res, error instanceof CapsicumError ? 400 : (error as { status?: number }).status ?? 400, 'The request cannot go on', (error as Error).message)
      return
    }
    req.log?.error({ err: error }, 'page failed')
    renderError(res, 500, 'Something went wrong', 'Something went wrong on our side; it has been logged. Try again later.')
  }

  for (const path of ['/', '/oauth/authorize']) {
    router.get(path, loadSsoUser, preflight, withSsoUserAsOAuthUser, authorization, prompt, ...authorizationErrors, pageErrors)
  }

  // The decision on the consent form.
  const requireSsoUser: RequestHandler = (req, res, next) => {
    if (req.ssoUser) return next()
    renderError(res, 403, 'You are not logged in', 'Your session has ended. Start again from the application.')
  }
  /** An allow remembers the consent, so the next authorize for this application asking no more goes straight back. */
  const rememberConsent = (req: Request, done: (error: Error | null, ares?: object) => void): void => {
    const txn = req.oauth2
    const body = req.body as Record<string, unknown>
    const user = req.ssoUser
    if (!txn || !user || body.cancel) return done(null)
    handleCommand(
      userDecider,
      userStreamName(user.userId),
      { type: 'GrantConsent', data: { userId: user.userId, clientId: txn.client.applicationId, scope: txn.req.scope ?? [] } },
      {
        eventStore: deps.eventStore,
        now: deps.now,
        newId: deps.newId,
        metadata: requestMetadata(req, { actor: { type: 'user', id: user.userId }, accountId: user.accountId, clientId: txn.client.applicationId }),
      },
    ).then(() => done(null, { scope: txn.req.scope ?? [] }), done)
  }
  const decision = server.decision({ userProperty: 'ssoUser' }, rememberConsent)
  router.post('/oauth/authorize/decision', csrf, loadSsoUser, requireSsoUser, ...decision, ...authorizationErrors, pageErrors)

  // Login -------------------------------------------------------------------------------

  router.get('/login', loadSsoUser, (req, res) => {
    const returnTo = safeReturnTo(req.query.return_to)
    if (req.ssoUser) return res.redirect(303, returnTo ?? '/console')
    render(res, 'login', 'Log in', { csrf: csrfToken(req, res, secrets), returnTo })
  })

  /** After too many failed logins in an authorize flow, the client hears access_denied (as the API text says). */
  const lockedOut = async (req: Request, res: Response, returnTo: string | null, email: string): Promise<void> => {
    if (returnTo && returnTo !== '/console') {
      const query = Object.fromEntries(new URL(returnTo, 'http://local').searchParams)
      const client = await findClient(deps.eventStore, query.client_id)
      const redirectUri = query.redirect_uri
      if (client && isRegisteredRedirect(client, redirectUri, originOf(req))) {
        res.redirect(
          303,
          redirectWith(redirectUri, { error: 'access_denied', error_description: lockedOutMessage, state: query.state || undefined }, query.response_type === 'token'),
        )
        return
      }
    }
    render(res, 'login', 'Log in', { csrf: csrfToken(req, res, secrets), returnTo, email, error: lockedOutMessage }, 429)
  }

  const login: RequestHandler = (req, res, next) => {
    const body = req.body as Record<string, unknown>
    const returnTo = safeReturnTo(body.return_to)
    const email = typeof body.email === 'string' ? body.email : ''
    authenticator.authenticate('local', { session: false }, (error: unknown) => {
      if (error) return next(error)
      const outcome = outcomes.get(req)
      if (!outcome || outcome.outcome === 'invalid') {
        return render(res, 'login', 'Log in', { csrf: csrfToken(req, res, secrets), returnTo, email, error: invalidCredentialsMessage }, 401)
      }
      if (outcome.outcome === 'locked') return void lockedOut(req, res, returnTo, email).catch(next)
      const metadata = requestMetadata(req, { actor: { type: 'user', id: outcome.user.userId }, accountId: outcome.user.accountId, clientId: null })
      Promise.all([startSsoSession(req, res, outcome.user, deps, metadata), recordLogin(outcome.user, null, 'form', deps, metadata)]).then(
        () => res.redirect(303, returnTo ?? '/console'),
        next,
      )
    })(req, res, next)
  }
  router.post('/login', csrf, login, pageErrors)

  const logout: RequestHandler = async (req, res) => {
    await endSsoSession(req, res, deps, anonymousMetadata(req))
    res.redirect(303, '/login')
  }
  router.post('/logout', csrf, logout, pageErrors)

  // Sign-up -----------------------------------------------------------------------------

  router.get('/signup', (req, res) => {
    render(res, 'signup', 'Sign up', { csrf: csrfToken(req, res, secrets), returnTo: safeReturnTo(req.query.return_to), minLength: minPasswordLength })
  })

  const signedUpNotice =
    'Thank you. Log in with your new password to continue. If this address had an account already, nothing was changed and we have e-mailed its owner.'
  const signup: RequestHandler = async (req, res) => {
    const body = req.body as Record<string, unknown>
    const returnTo = safeReturnTo(body.return_to)
    const again = (errors: string[], status: number): void =>
      render(res, 'signup', 'Sign up', {
        csrf: csrfToken(req, res, secrets),
        returnTo,
        errors,
        firstName: body.first_name,
        lastName: body.last_name,
        email: body.email,
        minLength: minPasswordLength,
      }, status)
    const parsed = createUserBody.safeParse({ first_name: body.first_name, last_name: body.last_name, email: body.email, password: body.password })
    if (!parsed.success) {
      const labels: Record<string, string> = { first_name: 'First name', last_name: 'Last name', email: 'E-mail', password: 'Password' }
      return again(
        parsed.error.issues.map((issue) => {
          const field = String(issue.path[0] ?? '')
          const what = field === 'password' ? `must be at least ${minPasswordLength} characters` : field === 'email' ? 'must be an e-mail address' : 'is required'
          return `${labels[field] ?? field} ${what}`
        }),
        400,
      )
    }
    // The same answer whether or not the address had an account (no enumeration): the login
    // form, with a notice; the owner of a registered address is e-mailed instead.
    await registerOrNotifyOwner(
      {
        email: parsed.data.email,
        password: parsed.data.password,
        firstName: parsed.data.first_name,
        lastName: parsed.data.last_name,
        phoneNumber: null,
        userClassId: null,
        userGroupId: null,
        permissionRoleId: null,
        applicationId: null,
        admin: false,
      },
      'signup_page',
      deps,
      anonymousMetadata(req),
    )
    render(res, 'login', 'Log in', { csrf: csrfToken(req, res, secrets), returnTo, email: parsed.data.email, notice: signedUpNotice })
  }
  router.post('/signup', csrf, signup, pageErrors)

  return router
}
