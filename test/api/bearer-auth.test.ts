import { generateKeyPairSync, createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import jwt from 'jsonwebtoken'
import t from 'tap'
import { startTestServer } from '../helpers/server.ts'

const b64url = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')

t.test('bearer tokens', async (t) => {
  const server = await startTestServer(t)
  const good = server.tokenFor('account-1')
  const privateKey = createPrivateKey(readFileSync(join(server.dataDir, 'jwt-private.pem'), 'utf8'))
  const kid = server.capsicum.tokens.keyId
  const claims = { sub: 'u', account_id: 'account-1', roles: [] }

  const listWith = (authorization?: string) =>
    server.api<{ error: string; message: string }>('GET', '/v1.1/things/types', {
      headers: authorization === undefined ? {} : { authorization },
    })

  await t.test('a good token is accepted', async (t) => {
    t.equal((await listWith(`Bearer ${good}`)).status, 200)
  })

  const refused: [string, () => string | undefined][] = [
    ['no Authorization header', () => undefined],
    ['an empty bearer', () => 'Bearer '],
    ['another scheme', () => `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['garbage', () => 'Bearer not.a.jwt'],
    [
      'a tampered payload',
      () => {
        const [header, , signature] = good.split('.')
        return `Bearer ${header}.${b64url({ ...claims, account_id: 'account-2', iss: 'capsicum', exp: 9999999999 })}.${signature}`
      },
    ],
    ['alg none', () => `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...claims, iss: 'capsicum' })}.`],
    [
      'an expired token',
      () =>
        `Bearer ${jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum' })}`,
    ],
    [
      'a token signed by another key',
      () => {
        const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 })
        return `Bearer ${jwt.sign(claims, other, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum', expiresIn: 600 })}`
      },
    ],
    [
      'HS256 signed with our public key (algorithm confusion)',
      () => {
        const publicPem = server.capsicum.tokens.jwks().keys[0]
        return `Bearer ${jwt.sign(claims, JSON.stringify(publicPem), { algorithm: 'HS256', keyid: kid, issuer: 'capsicum', expiresIn: 600 })}`
      },
    ],
    [
      'another issuer',
      () => `Bearer ${jwt.sign(claims, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'someone-else', expiresIn: 600 })}`,
    ],
    [
      'a token without an account',
      () => `Bearer ${jwt.sign({ sub: 'u' }, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum', expiresIn: 600 })}`,
    ],
  ]
  await t.test('a token signed with our key but without exp or iat is refused, naming the claim', async (t) => {
    const nowSeconds = Math.floor(Date.now() / 1000)
    const cases: [string, string, RegExp][] = [
      ['no exp', jwt.sign(claims, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum' }), /no expiry \(exp\)/],
      ['no iat', jwt.sign({ ...claims, exp: nowSeconds + 600 }, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum', noTimestamp: true }), /no issue time \(iat\)/],
      ['iat in the future', jwt.sign({ ...claims, iat: nowSeconds + 3600 }, privateKey, { algorithm: 'RS256', keyid: kid, issuer: 'capsicum', expiresIn: 7200 }), /issued in the future/],
    ]
    for (const [label, token, reason] of cases) {
      const res = await listWith(`Bearer ${token}`)
      t.equal(res.status, 401, label)
      t.match(res.body, { error: 'invalid_token', message: reason }, `${label}: says why`)
    }
  })

  for (const [label, authorization] of refused) {
    await t.test(`refuses ${label} with 401`, async (t) => {
      const res = await listWith(authorization())
      t.equal(res.status, 401)
      t.match(res.body, { error: /^(invalid_token|token_expired)$/, message: String })
      t.match(res.headers.get('www-authenticate'), /^Bearer /)
    })
  }

  await t.test('RFC 6750: the token in the query or a form body serves as well, but one way only', async (t) => {
    t.equal((await server.api('GET', `/v1.1/things/types?access_token=${good}`)).status, 200, 'in the query')
    // authenticated, the delete of a thing that does not exist is its 404 (not a 401)
    const form = await fetch(`${server.url}/v1.1/things/${crypto.randomUUID()}`, {
      method: 'DELETE',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: good }).toString(),
    })
    t.equal(form.status, 404, 'in a form body')
    const twice = await server.api<{ error: string; message: string }>('GET', `/v1.1/things/types?access_token=${good}`, { headers: { authorization: `Bearer ${good}` } })
    t.equal(twice.status, 401)
    t.match(twice.body, { error: 'invalid_token', message: /one way only/ })
    const spaced = await listWith(`Bearer ${good} extra`)
    t.equal(spaced.status, 401)
    t.match(spaced.body.message, /must be "Bearer <token>"/)
  })

  await t.test('an expired token says so', async (t) => {
    const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, privateKey, {
      algorithm: 'RS256',
      keyid: kid,
      issuer: 'capsicum',
    })
    const res = await listWith(`Bearer ${expired}`)
    t.match(res.body, { error: 'token_expired', message: /expired/ })
  })

  await t.test('a write with a refused token changes nothing', async (t) => {
    const before = (await listWith(`Bearer ${good}`)).body
    const res = await server.api('POST', '/v1.1/things/types', { body: { name: 'n', description: 'd' }, headers: { authorization: 'Bearer nope' } })
    t.equal(res.status, 401)
    t.strictSame((await listWith(`Bearer ${good}`)).body, before)
  })
})
