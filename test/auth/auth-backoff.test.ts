/**
 * Issue 15.11 (HTTP side): repeated failed authentications on the ingest endpoints (HTTP
 * Basic) and at the token endpoint (client secrets) are slowed by a growing delay, per
 * user name and per client address. The server's clock is injected and moved by the
 * test: nothing waits. Client addresses come from X-Forwarded-For (a proxy on loopback).
 */
import t from 'tap'
import { createApp, createUser } from '../helpers/auth.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

function movableClock(start = Date.parse('2026-05-01T12:00:00.000Z')) {
  let now = start
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) }
}

t.test('HTTP Basic on ingest: a growing delay per user name and per address', async (t) => {
  const clock = movableClock()
  const server = await startTestServer(t, { now: clock.now })
  const account = await deviceAccount(server, { things: 1 })
  const thingId = account.thingIds[0]!
  const ingest = async (username: string, password: string, address: string, path = `/v1.1/things/${thingId}/data`) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(username, password), 'x-forwarded-for': address },
      body: JSON.stringify([{ channel: 1, value: 20, type: 'temp', unit: 'c' }]),
    })
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { error: string; message: string } }
  }

  await t.test('per user name: two free failures, then 1 s, 2 s, 4 s... refused unchecked, the right password too', async (t) => {
    const address = '198.51.100.20'
    t.equal((await ingest(account.username, 'wrong-1', address)).status, 401)
    t.equal((await ingest(account.username, 'wrong-2', address)).status, 401)
    t.equal((await ingest(account.username, 'wrong-3', address)).status, 401, 'the third failure is answered, and closes the user name')
    const waits: string[] = []
    for (let i = 0; i < 3; i++) {
      const refused = await ingest(account.username, account.password, address)
      t.equal(refused.status, 429, 'while closed, even the right password is refused unchecked')
      t.match(refused.body, { error: 'too_many_attempts', message: /try again in \d+ s/ })
      waits.push(refused.retryAfter!)
      clock.advance(Number(refused.retryAfter) * 1000)
      t.equal((await ingest(account.username, `wrong-again-${i}`, address)).status, 401, 'open again after Retry-After: checked (and wrong)')
    }
    t.strictSame(waits, ['1', '2', '4'], 'the delay doubles with each failure in a row')
    const other = await ingest(account.username, account.password, '198.51.100.21', `/things/${thingId}/data`)
    t.equal(other.status, 429, 'the user name is closed from any address (the Cayenne path too)')
    clock.advance(8000)
    t.equal((await ingest(account.username, account.password, address)).status, 200, 'the right password once open')
    t.equal((await ingest(account.username, 'wrong-after-success', address)).status, 401)
    t.equal((await ingest(account.username, account.password, address)).status, 200, 'a success cleared the user name\'s count')
  })

  await t.test('per address: many user names from one address close the address, not the others', async (t) => {
    const address = '203.0.113.30'
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) statuses.push((await ingest(`guess-${i}`, 'x', address)).status)
    t.strictSame(statuses, Array(11).fill(401), 'ten free failures, the eleventh closes the address')
    const refused = await ingest(account.username, account.password, address)
    t.equal(refused.status, 429, 'a good device behind that address waits too')
    t.equal(refused.retryAfter, '1')
    t.equal((await ingest(account.username, account.password, '203.0.113.31')).status, 200, 'another address is not affected')
    clock.advance(1000)
    t.equal((await ingest(account.username, account.password, address)).status, 200, 'and the address opens after Retry-After')
  })
})

t.test('client secrets at the token endpoint: a growing delay per client id and per address', async (t) => {
  const clock = movableClock()
  const server = await startTestServer(t, { now: clock.now })
  const owner = await createUser(server)
  const app = await createApp(server, owner)
  const grant = async (secret: string, address: string, body: Record<string, string> = { grant_type: 'client_credentials' }) => {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, secret), 'x-forwarded-for': address },
      body: new URLSearchParams(body).toString(),
    })
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> }
  }
  const address = '192.0.2.40'
  for (let i = 0; i < 3; i++) t.equal((await grant(`wrong-${i}`, address)).status, 401, `failure ${i + 1}: invalid_client`)
  const refused = await grant(app.clientSecret, address)
  t.equal(refused.status, 429)
  t.equal(refused.retryAfter, '1')
  t.match(refused.body, { error: 'temporarily_unavailable', error_description: /try again in 1 s/ })
  const bodySecret = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.41' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }).toString(),
  })
  t.equal(bodySecret.status, 429, 'the client id is closed whichever way the secret comes, from any address')
  clock.advance(1000)
  t.equal((await grant('wrong-again', address)).status, 401)
  t.equal((await grant(app.clientSecret, address)).retryAfter, '2', 'the next delay is twice as long')
  clock.advance(2000)
  t.equal((await grant(app.clientSecret, address)).status, 200, 'the right secret once open')
  const revoke = await fetch(`${server.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, 'wrong'), 'x-forwarded-for': address },
    body: new URLSearchParams({ token: 'whatever' }).toString(),
  })
  t.equal(revoke.status, 401, 'the revocation endpoint counts too (one wrong secret after a success is free)')
})
