/**
 * POST /oauth/token (every grant; JSON or form-encoded; client secret in the body or
 * HTTP Basic) and POST /oauth/revoke (RFC 7009). Errors are RFC 6749 bodies
 * `{ error, error_description }`; answers carry `Cache-Control: no-store`.
 */
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express'
import oauth2orize from 'oauth2orize'
import { z } from 'zod'
import { requestMetadata } from '../auth-deps.ts'
import type { RouteDeps } from '../route-deps.ts'
import { authenticatedClient, clientAuthentication, TokenRouteError } from './client-auth.ts'
import type { createOAuthServer } from './oauth-server.ts'
import { revokeToken } from './issue-tokens.ts'

export const tokenRequestBody = z
  .object({
    grant_type: z.enum(['authorization_code', 'password', 'refresh_token', 'client_credentials']),
    client_id: z.string().optional().describe('the App Key'),
    client_secret: z.string().optional().describe('the App Secret (or use HTTP Basic)'),
    code: z.string().optional(),
    redirect_uri: z.string().optional(),
    code_verifier: z.string().optional().describe('PKCE (RFC 7636)'),
    email: z.string().optional().describe('password grant: the user\'s e-mail (RFC 6749 calls it username, also accepted)'),
    username: z.string().optional(),
    password: z.string().optional(),
    refresh_token: z.string().optional(),
    scope: z.string().optional().describe('comma or space separated'),
    account_id: z.string().optional().describe('client_credentials of a management application: the account to act for'),
  })
  .meta({ title: 'TokenRequest' })

export const tokenResponse = z
  .object({
    access_token: z.string(),
    refresh_token: z.string().optional(),
    token_type: z.literal('Bearer'),
    expires_in: z.number(),
    scope: z.string().optional(),
  })
  .meta({ title: 'TokenResponse' })

const oauthError = z.object({ error: z.string(), error_description: z.string().optional() }).meta({ title: 'OAuthError' })

export function tokenRoutes(deps: RouteDeps, server: ReturnType<typeof createOAuthServer>): Router {
  const router = Router()
  const tags = ['OAuth2']
  const authenticate = clientAuthentication(deps)
  const oauthErrorHandler = server.errorHandler()
  const tokenEndpoint = server.token()

  /** The API text's password grant sends `email`; oauth2orize reads RFC 6749's `username`. */
  const emailAsUsername: RequestHandler = (req, _res, next) => {
    const body = req.body as Record<string, unknown> | undefined
    if (body && body.grant_type === 'password' && body.username === undefined && typeof body.email === 'string') body.username = body.email
    next()
  }
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Pragma', 'no-cache')
    next()
  }
  /**
   * The one error mapper of the token routes: RFC 6749 5.2 bodies for everything that goes wrong here, our own
   * errors included. (A body the parsers refuse never gets here: the global handler answers it before any route.)
   */
  const tokenErrors: ErrorRequestHandler = (error, req, res, next) => {
    if (error instanceof TokenRouteError) {
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value)
      return res.status(error.status).json({ error: error.error, error_description: error.message })
    }
    if (error instanceof oauth2orize.OAuth2Error) {
      // RFC 6749 5.2 answers 400 for everything but invalid_client (oauth2orize says 403 or 501 for some).
      if (error.status !== 401) error.status = 400
      return oauthErrorHandler(error, req, res, next)
    }
    if (typeof error === 'object' && error !== null && 'kind' in error && (error as { kind: string }).kind === 'invalid') {
      return res.status(400).json({ error: 'invalid_request', error_description: (error as Error).message })
    }
    req.log?.error({ err: error }, 'token endpoint failed')
    res.status(500).json({ error: 'server_error', error_description: 'Something went wrong on our side; it has been logged' })
  }

  deps.openapi.add({
    method: 'post',
    path: '/oauth/token',
    operationId: 'token',
    summary: 'Token endpoint: authorization_code (PKCE), password, refresh_token (rotated), client_credentials',
    description: 'JSON or form-encoded. Client authentication: HTTP Basic, or client_id and client_secret in the body; client_id alone for the password grant, refresh, and a code obtained with PKCE.',
    tags,
    secured: false,
    body: tokenRequestBody,
    responses: {
      200: { description: 'Tokens', schema: tokenResponse },
      400: { description: 'RFC 6749 error', schema: oauthError },
      401: { description: 'invalid_client', schema: oauthError },
      429: { description: 'temporarily_unavailable: too many failed client authentications; Retry-After says when to try again', schema: oauthError },
    },
  })
  router.post('/oauth/token', noStore, emailAsUsername, authenticate, tokenEndpoint, tokenErrors)

  deps.openapi.add({
    method: 'post',
    path: '/oauth/revoke',
    operationId: 'revoke',
    summary: 'RFC 7009: revoke a refresh token (its whole family); always 200 for a token that is unknown',
    description: 'Access tokens are short-lived JWTs and stay valid until they expire (one hour).',
    tags,
    secured: false,
    body: z.object({ token: z.string(), token_type_hint: z.string().optional(), client_id: z.string().optional(), client_secret: z.string().optional() }).meta({ title: 'RevokeRequest' }),
    responses: { 200: { description: 'Revoked, or nothing to revoke' }, 401: { description: 'invalid_client', schema: oauthError } },
  })
  const revoke: RequestHandler = async (req, res) => {
    const body = req.body as Record<string, unknown>
    if (typeof body.token !== 'string' || body.token === '') throw new TokenRouteError(400, 'invalid_request', 'Missing required parameter: token')
    const client = authenticatedClient(req)!.client
    await revokeToken(body.token, client.applicationId, deps, requestMetadata(req, { actor: { type: 'application', id: client.applicationId }, accountId: client.accountId, clientId: client.applicationId }))
    res.status(200).end()
  }
  router.post('/oauth/revoke', noStore, authenticate, revoke, tokenErrors)

  return router
}
