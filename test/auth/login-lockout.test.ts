/**
 * Login throttling: five failures within fifteen minutes lock the e-mail address (known
 * or not) and the client address for fifteen minutes. Time is the server's injected
 * clock, moved by the test: nothing waits.
 */
import t from 'tap'
import { createApp, createUser, CookieJar, tokenRequest } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

const minutes = (n: number): number => n * 60 * 1000

function movableClock(start = Date.now()) {
  let now = start
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) }
}

t.test('the password grant locks after five failures, for fifteen minutes', async (t) => {
  const clock = movableClock()
  const server = await startTestServer(t, { now: clock.now })
  const user = await createUser(server)
  const app = await createApp(server, user)
  const attempt = (password: string, email = user.email) => tokenRequest(server, { grant_type: 'password', email, password, client_id: app.clientId })

  for (let i = 1; i <= 4; i++) t.equal((await attempt('wrong-password')).body.error_description, 'The e-mail address or the password is not right', `failure ${i}`)
  const fifth = await attempt('wrong-password')
  t.match(fifth.body.error_description, /Too many failed logins/, 'the fifth failure locks')
  const right = await attempt(user.password)
  t.equal(right.status, 400, 'while locked, even the right password gets nothing')
  t.match(right.body.error_description, /Too many failed logins/)

  clock.advance(minutes(14))
  t.equal((await attempt(user.password)).status, 400, 'still locked after 14 minutes')
  clock.advance(minutes(2))
  t.equal((await attempt(user.password)).status, 200, 'open again after 15 minutes')

  await t.test('failures spread over more than fifteen minutes do not lock', async (t) => {
    for (let i = 0; i < 8; i++) {
      t.equal((await attempt('wrong-password')).body.error_description, 'The e-mail address or the password is not right')
      clock.advance(minutes(4))
    }
    t.equal((await attempt(user.password)).status, 200)
  })

  await t.test('an unknown e-mail locks exactly like a known one (no enumeration)', async (t) => {
    clock.advance(minutes(60))
    const answers: string[] = []
    for (let i = 0; i < 6; i++) answers.push(String((await attempt('whatever-pass', 'nobody@example.com')).body.error_description))
    t.match(answers[4], /Too many failed logins/)
    t.match(answers[5], /Too many failed logins/)
  })
})

t.test('the login form: a lockout in an authorize flow redirects back with access_denied', async (t) => {
  const clock = movableClock()
  const server = await startTestServer(t, { now: clock.now })
  const owner = await createUser(server)
  const app = await createApp(server, owner)
  const token = server.capsicum.tokens.sign({ sub: owner.userId, account_id: owner.accountId, user_id: owner.userId, roles: [] })
  await server.api('POST', `/applications/${app.clientId}/redirects`, { token, body: { redirect_uri: 'https://client.example/cb' } })
  const user = await createUser(server)

  const jar = new CookieJar()
  const page = await (await jar.fetch(`${server.url}/?response_type=code&client_id=${app.clientId}&redirect_uri=${encodeURIComponent('https://client.example/cb')}&state=st8`)).text()
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!
  const returnTo = /name="return_to" value="([^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=')
  const login = (password: string, email = user.email) =>
    jar.fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, return_to: returnTo, email, password }).toString(),
    })

  const unknown = await login('wrong-password', 'nobody@example.com')
  const wrong = await login('wrong-password')
  t.equal(unknown.status, 401)
  t.equal(wrong.status, 401)
  const message = (html: string) => /id="login-error">([^<]*)</.exec(html)?.[1]
  t.equal(message(await unknown.text()), message(await wrong.text()), 'an unknown address and a wrong password read the same')

  for (let i = 0; i < 2; i++) t.equal((await login('wrong-password')).status, 401)
  const locked = await login('wrong-password')
  t.equal(locked.status, 303, 'the fifth failure from this address sends the browser back to the client')
  const location = new URL(locked.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, 'https://client.example/cb')
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('state'), 'st8')

  const outside = await jar.fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email: user.email, password: user.password }).toString(),
  })
  t.equal(outside.status, 429, 'outside a flow, the locked form says so')

  clock.advance(minutes(16))
  const again = await login(user.password)
  t.equal(again.status, 303)
  t.match(again.headers.get('location'), /^\/\?response_type=code/, 'after the lock, the login goes on with the authorize step')

  await t.test('the login form refuses a post without the CSRF token', async (t) => {
    const forged = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: user.email, password: user.password }).toString(),
      redirect: 'manual',
    })
    t.equal(forged.status, 403)
    t.notOk(forged.headers.get('set-cookie')?.includes('capsicum_sso'), 'no session')
  })

  await t.test('return_to never leaves the site', async (t) => {
    const evil = await jar.fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, return_to: 'https://evil.example/', email: user.email, password: user.password }).toString(),
    })
    t.equal(evil.status, 303)
    t.equal(evil.headers.get('location'), '/console')
  })

  await t.test('the SSO cookie is httpOnly, SameSite=Lax and lasts a week', async (t) => {
    const fresh = new CookieJar()
    const form = await (await fresh.fetch(`${server.url}/login`)).text()
    const res = await fresh.fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]+)"/.exec(form)![1]!, email: owner.email, password: owner.password }).toString(),
    })
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('capsicum_sso='))!
    t.match(cookie, /HttpOnly/i)
    t.match(cookie, /SameSite=Lax/i)
    t.match(cookie, /Max-Age=604800/i)
    t.notMatch(cookie, /Secure/i, 'not Secure over plain http')
    const behindTls = await fetch(`${server.url}/login`, { headers: { 'x-forwarded-proto': 'https' } })
    t.match(behindTls.headers.getSetCookie().join('\n'), /capsicum_csrf=.*Secure/i, 'Secure behind a TLS-terminating proxy on loopback')
  })
})
