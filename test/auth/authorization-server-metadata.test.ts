/**
 * RFC 8414 metadata at /.well-known/oauth-authorization-server: its fields, and a real
 * client library (openid-client) that discovers us from it and gets a token.
 */
import * as oidc from 'openid-client'
import t from 'tap'
import { createApp, createUser } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('the authorization server metadata', async (t) => {
  const server = await startTestServer(t)
  const response = await fetch(`${server.url}/.well-known/oauth-authorization-server`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /application\/json/)
  const metadata = (await response.json()) as Record<string, unknown>
  t.strictSame(metadata, {
    issuer: server.url,
    authorization_endpoint: `${server.url}/oauth/authorize`,
    token_endpoint: `${server.url}/oauth/token`,
    revocation_endpoint: `${server.url}/oauth/revoke`,
    jwks_uri: `${server.url}/.well-known/jwks.json`,
    response_types_supported: ['code', 'token'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: ['authorization_code', 'implicit', 'password', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    service_documentation: `${server.url}/docs`,
  })
  const jwks = (await (await fetch(metadata.jwks_uri as string)).json()) as { keys: unknown[] }
  t.equal(jwks.keys.length, 1, 'jwks_uri serves our key')

  const user = await createUser(server)
  const app = await createApp(server, user)
  const config = await oidc.discovery(new URL(server.url), app.clientId, app.clientSecret, undefined, { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] })
  t.equal(config.serverMetadata().issuer, server.url, 'openid-client discovers us (RFC 8414) and accepts the issuer')
  const tokens = await oidc.clientCredentialsGrant(config)
  t.equal((await server.api('GET', '/v1.1/things/types', { token: tokens.access_token })).status, 200, 'and gets a token the platform accepts')
})

t.test('a URL JWT_ISSUER is the issuer; PUBLIC_URL names the endpoints', async (t) => {
  const server = await startTestServer(t, { env: { JWT_ISSUER: 'https://auth.example.com', PUBLIC_URL: 'https://auth.example.com/' } })
  const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
  t.equal(metadata.issuer, 'https://auth.example.com')
  t.equal(metadata.token_endpoint, 'https://auth.example.com/oauth/token')
})
