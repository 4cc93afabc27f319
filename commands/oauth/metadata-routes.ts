/**
 * RFC 8414 authorization server metadata at `/.well-known/oauth-authorization-server`:
 * what a client library needs to find our endpoints and what they support. `issuer` is
 * JWT_ISSUER when that is a URL (RFC 8414 wants one); otherwise the server's public URL.
 */
import { Router } from 'express'
import type { RouteDeps } from '../route-deps.ts'

export function authorizationServerMetadata(deps: Pick<RouteDeps, 'publicUrl' | 'accessTokens'>): Record<string, unknown> {
  const base = deps.publicUrl().replace(/\/+$/, '')
  return {
    issuer: /^https?:\/\//.test(deps.accessTokens.issuer) ? deps.accessTokens.issuer : base,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    response_types_supported: ['code', 'token'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: ['authorization_code', 'implicit', 'password', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    service_documentation: `${base}/docs`,
  }
}

export function metadataRoutes(deps: RouteDeps): Router {
  const router = Router()
  router.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.json(authorizationServerMetadata(deps))
  })
  return router
}
