/** Forged and stale tokens at the auth server's own endpoints: alg none, another key, expired, tampered. */
import { generateKeyPairSync } from 'node:crypto'
import jwt from 'jsonwebtoken'
import t from 'tap'
import { createApp, createUser, passwordGrant } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('tokens the auth server refuses', async (t) => {
  const server = await startTestServer(t)
  const user = await createUser(server)
  const app = await createApp(server, user)
  const good = (await passwordGrant(server, app, user)).body.access_token as string
  const claims = jwt.decode(good) as Record<string, unknown>
  const { exp: _exp, iat: _iat, iss: _iss, jti: _jti, ...payload } = claims
  const kid = server.capsicum.tokens.keyId
  const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const [header, , signature] = good.split('.')

  const forged: [string, string][] = [
    ['alg none', `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`],
    ['another key', jwt.sign(payload, otherKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum', expiresIn: 600 })],
    ['an expired token', jwt.sign({ ...payload, exp: Math.floor(Date.now() / 1000) - 1 }, server.capsicum.tokens.privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum' })],
    ['a tampered payload (admin role added)', `${header}.${b64url({ ...claims, roles: ['admin'] })}.${signature}`],
  ]
  t.equal((await server.api('GET', `/users/${user.userId}`, { token: good })).status, 200, 'the genuine token works')
  for (const [label, token] of forged) {
    for (const [method, path] of [['GET', `/users/${user.userId}`], ['GET', '/applications'], ['POST', '/applications']] as const) {
      const res = await server.api<{ error: string }>(method, path, { token, ...(method === 'POST' ? { body: { name: 'x' } } : {}) })
      t.equal(res.status, 401, `${label}: ${method} ${path} is 401`)
    }
  }
})
