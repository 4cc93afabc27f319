/**
 * Password reset end to end: POST /password/forgot, the mail received by a real SMTP
 * server started here (smtp-server), the link followed to the page, the new password
 * set, and everything the old one opened (SSO sessions, refresh tokens) ended.
 */
import t from 'tap'
import { clientCredentials, createApp, createUser, CookieJar, passwordGrant, tokenRequest } from '../helpers/auth.ts'
import { startSmtp } from '../helpers/deliveries.ts'
import { startTestServer } from '../helpers/server.ts'

/** The reset link in a raw message (its text part is quoted-printable). */
function linkIn(raw: string): string {
  const text = raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=')
  const match = /(http:\/\/[^\s"<>]+\/reset-password\?token=[^\s"<>]+)/.exec(text)
  if (!match) throw new Error(`no link in ${raw}`)
  return match[1]!
}

const forgot = (url: string, email: string, token?: string) =>
  fetch(`${url}/password/forgot`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ email }),
  })

t.test('a forgotten password, reset through the e-mailed link', async (t) => {
  const smtp = await startSmtp(t)
  const server = await startTestServer(t, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Capsicum <auth@capsicum.test>' } })
  const user = await createUser(server, { firstName: 'Grace' })
  const app = await createApp(server, user)

  // What the old password opened: an SSO session and a refresh token.
  const jar = new CookieJar()
  const loginPage = await (await jar.fetch(`${server.url}/login`)).text()
  const csrf = /name="_csrf" value="([^"]+)"/.exec(loginPage)![1]!
  await jar.fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, email: user.email, password: user.password }).toString(),
  })
  t.equal((await jar.fetch(`${server.url}/console`)).status, 200, 'logged in')
  const oldTokens = await passwordGrant(server, app, user)

  const known = await forgot(server.url, user.email)
  const unknown = await forgot(server.url, 'nobody@example.com')
  t.equal(known.status, 200)
  t.equal(unknown.status, 200)
  const knownBody = (await known.json()) as Record<string, unknown>
  const unknownBody = (await unknown.json()) as Record<string, unknown>
  t.strictSame(Object.keys(knownBody).sort(), Object.keys(unknownBody).sort(), 'the same answer whether or not the address exists')
  t.strictSame(knownBody, { email: user.email, success: true })
  t.notOk('token' in knownBody, 'no token in the body for anyone but a management application')

  const mail = await smtp.next()
  t.strictSame(mail.to, [user.email], 'the mail goes to the user')
  t.match(mail.raw, /Subject: Reset your Capsicum password/)
  t.match(mail.raw, /From: Capsicum <auth@capsicum\.test>/)
  t.match(mail.raw, /Message-ID: <[0-9a-f-]{36}@capsicum>/, 'the event id is the Message-ID (idempotency key)')
  t.match(mail.raw, /Hello Grace/)
  const link = linkIn(mail.raw)
  t.match(link, `${server.url}/reset-password?token=`)
  const token = new URL(link).searchParams.get('token')!

  const events = await server.capsicum.eventStore.readStream(`user-${user.userId}`)
  t.notMatch(JSON.stringify(events), token, 'the token itself is in no event')

  // Follow the link: the page, then its form.
  const browser = new CookieJar()
  const page = await (await browser.fetch(link)).text()
  t.match(page, 'Choose a new password')
  const fields = Object.fromEntries([...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll('&#x3D;', '=')]))
  t.equal(fields.token, token)
  const short = await browser.fetch(`${server.url}/reset-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, password: 'short' }).toString(),
  })
  t.equal(short.status, 400, 'a short password is refused and changes nothing')
  const done = await browser.fetch(`${server.url}/reset-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, password: 'a brand new password' }).toString(),
  })
  t.equal(done.status, 200)
  t.match(await done.text(), 'Your password is changed')

  t.equal((await passwordGrant(server, app, user)).status, 400, 'the old password is dead')
  t.equal((await passwordGrant(server, app, { email: user.email, password: 'a brand new password' })).status, 200, 'the new one works')
  const refresh = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: oldTokens.body.refresh_token as string, client_id: app.clientId })
  t.equal(refresh.status, 400, "the old refresh token's family is ended")
  t.equal((await jar.fetch(`${server.url}/console`)).status, 303, 'the old SSO session is ended')

  const reuse = await fetch(`${server.url}/password/reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: 'yet another password' }),
  })
  t.equal(reuse.status, 400, 'the token works once')
  t.match(await reuse.json(), { error: 'invalid_reset_token', details: [{ field: 'token' }] })

  await t.test('a management application gets the token in the body and can reset with it', async (t) => {
    const management = await createApp(server, user, { management: true })
    const managementToken = await clientCredentials(server, management)
    const answer = await forgot(server.url, user.email, managementToken)
    const body = (await answer.json()) as Record<string, string>
    t.match(body, { first_name: 'Grace', last_name: 'User', email: user.email, token: String })
    const reset = await fetch(`${server.url}/password/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: body.token, password: 'set by management' }),
    })
    t.equal(reset.status, 200)
    t.strictSame(await reset.json(), { success: true })
    await smtp.next() // its e-mail went out too
    const ordinary = await forgot(server.url, user.email, await clientCredentials(server, app))
    t.notOk('token' in ((await ordinary.json()) as object), 'an ordinary application does not get it')
    await smtp.next()
  })

  await t.test('bad input names the field', async (t) => {
    const res = await fetch(`${server.url}/password/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x' }) })
    t.equal(res.status, 400)
    t.match(await res.json(), { details: [{ field: 'password' }] })
    const forged = await fetch(`${server.url}/password/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: `${user.userId}.${user.userId}.forged`, password: 'whatever-long' }),
    })
    t.equal(forged.status, 400)
  })
})

t.test('a reset token expires after an hour', async (t) => {
  const smtp = await startSmtp(t)
  let now = Date.now()
  const server = await startTestServer(t, { env: { SMTP_URL: smtp.url }, now: () => new Date(now) })
  const user = await createUser(server)
  await forgot(server.url, user.email)
  const token = new URL(linkIn((await smtp.next()).raw)).searchParams.get('token')!
  now += 61 * 60 * 1000
  const res = await fetch(`${server.url}/password/reset`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token, password: 'too late now' }),
  })
  t.equal(res.status, 400)
})
