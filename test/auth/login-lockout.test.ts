/**
 * Login throttling: five failures within fifteen minutes lock an e-mail address (known
 * or not) from that client address for fifteen minutes; 20 from one address lock the
 * address; 50 within an hour from anywhere lock the e-mail. Time is the server's injected
 * clock, moved by the test: nothing waits. Client addresses come from X-Forwarded-For,
 * which a proxy on loopback (the test) may set.
 */
import t from 'tap'
import { createApp, createUser, CookieJar, tokenRequest, type TestApp } from '../helpers/auth.ts'
import type { TestServer } from '../helpers/server.ts'
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

  for (let i = 0; i < 3; i++) t.equal((await login('wrong-password')).status, 401)
  const locked = await login('wrong-password')
  t.equal(locked.status, 303, 'the fifth failure for this e-mail from this address sends the browser back to the client')
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

/** A password grant from a given client address. */
async function grantFrom(server: TestServer, app: TestApp, address: string, email: string, password: string): Promise<{ status: number; description: string }> {
  const response = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': address },
    body: new URLSearchParams({ grant_type: 'password', email, password, client_id: app.clientId }).toString(),
  })
  const body = (await response.json()) as { error_description?: string }
  return { status: response.status, description: body.error_description ?? '' }
}

/** How many password checks the server made for an e-mail: one per reserved attempt of its global key. */
async function passwordChecks(server: TestServer, email: string): Promise<number> {
  const { NodeSecrets } = await import('../../adapters/secrets.ts')
  const secrets = new NodeSecrets(server.capsicum.tokens.privateKey)
  const events = await server.capsicum.eventStore.readStream(`loginattempts-email-${secrets.hashToken(email.toLowerCase())}`)
  return events.filter((event) => event.type === 'LoginAttemptStarted').length
}

t.test('40 parallel guesses for one e-mail from one address: at most 5 passwords are checked', async (t) => {
  const server = await startTestServer(t)
  const user = await createUser(server)
  const app = await createApp(server, user)
  const answers = await Promise.all(Array.from({ length: 40 }, () => grantFrom(server, app, '198.51.100.7', user.email, 'wrong-password')))
  // An unchecked attempt is told "too many"; a checked one "not right", but the fifth, which locks.
  const toldWrong = answers.filter((a) => a.description === 'The e-mail address or the password is not right').length
  t.ok(toldWrong <= 4, `${toldWrong} answers say the password was checked and wrong (at most 4, the fifth locks)`)
  const checked = await passwordChecks(server, user.email)
  t.ok(checked >= 1 && checked <= 5, `${checked} password checks recorded (at most 5)`)
  t.equal(toldWrong, Math.min(checked, 4), 'only checked attempts are told the password is wrong')
  t.ok(answers.every((a) => a.status === 400), 'every answer is an RFC 6749 error, none a 500')
  t.equal((await grantFrom(server, app, '198.51.100.7', user.email, user.password)).status, 400, 'the pair is locked, even for the right password')
})

t.test('guessing at victims between logins to one\'s own account still gets locked', async (t) => {
  const server = await startTestServer(t)
  const attacker = await createUser(server)
  const victims = [await createUser(server), await createUser(server), await createUser(server), await createUser(server), await createUser(server), await createUser(server)]
  const app = await createApp(server, attacker)
  const address = '203.0.113.66'

  await t.test('one victim: the pair locks at the fifth guess, the own logins do not reset it', async (t) => {
    const answers: number[] = []
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) answers.push((await grantFrom(server, app, address, victims[0]!.email, 'guess-' + round + i)).status)
      t.equal((await grantFrom(server, app, address, attacker.email, attacker.password)).status, 200, 'the attacker logs in to their own account')
    }
    const guess = await grantFrom(server, app, address, victims[0]!.email, victims[0]!.password)
    t.match(guess.description, /Too many failed logins/, 'after 8 guesses (4 + 4), even the right password is refused from this address')
  })

  await t.test('rotating victims: the address locks at 20 failures, own logins in between', async (t) => {
    let lockedAt = 0
    let guesses = 5 // the address's failures so far: the pair locked at the fifth, later guesses were refused unchecked
    for (const victim of victims.slice(1)) {
      for (let i = 0; i < 4 && !lockedAt; i++) {
        guesses++
        if (/Too many/.test((await grantFrom(server, app, address, victim.email, `guess-${i}`)).description)) lockedAt = guesses
      }
      if (lockedAt) break
      await grantFrom(server, app, address, attacker.email, attacker.password)
    }
    t.equal(lockedAt, 20, 'the twentieth failure from the address locks it')
    t.match((await grantFrom(server, app, address, attacker.email, attacker.password)).description, /Too many failed logins/, 'the address is locked, for its own account too')
  })
})

t.test('an attacker cannot lock the owner out; a distributed run still hits the global threshold', async (t) => {
  const clock = movableClock()
  const server = await startTestServer(t, { now: clock.now })
  const victim = await createUser(server)
  const app = await createApp(server, victim)
  const home = '192.0.2.10'

  for (let i = 0; i < 5; i++) await grantFrom(server, app, '198.51.100.1', victim.email, `guess-${i}`)
  t.match((await grantFrom(server, app, '198.51.100.1', victim.email, victim.password)).description, /Too many/, 'the attacker\'s address is locked for the victim')
  t.equal((await grantFrom(server, app, home, victim.email, victim.password)).status, 200, 'the victim logs in from their own address')

  // The owner's success cleared the e-mail's count; a run from 10 addresses (5 each, within each pair's threshold) reaches 50.
  let locked = false
  for (let a = 2; a <= 11 && !locked; a++) {
    for (let i = 0; i < 5; i++) {
      const answer = await grantFrom(server, app, `198.51.100.${a}`, victim.email, `guess-${a}-${i}`)
      if (a === 11 && i === 4) locked = /Too many/.test(answer.description)
    }
  }
  t.ok(locked, 'the 50th failure within the hour locks the e-mail')
  t.match((await grantFrom(server, app, home, victim.email, victim.password)).description, /Too many/, 'now for every address, home too')
  clock.advance(minutes(16))
  t.equal((await grantFrom(server, app, home, victim.email, victim.password)).status, 200, 'for fifteen minutes')
})
