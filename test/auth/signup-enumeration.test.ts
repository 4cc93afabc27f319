/**
 * Issue 15.6: sign-up does not reveal registered e-mails. The page answers the same
 * whether or not the address has an account, and the owner of a registered one gets an
 * e-mail (through the mail reactor, received by a real SMTP server). POST /users tells a
 * taken address (409 email_taken) to management and admin tokens only.
 */
import t from 'tap'
import { clientCredentials, createApp, createUser, CookieJar, passwordGrant } from '../helpers/auth.ts'
import { within } from '../helpers/async.ts'
import { readableMail, startSmtp } from '../helpers/deliveries.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('the sign-up page answers the same for a new and a registered address', async (t) => {
  const smtp = await startSmtp(t)
  const server = await startTestServer(t, { env: { SMTP_URL: smtp.url } })
  const owner = await createUser(server, { firstName: 'Grace' })
  const app = await createApp(server, owner)

  const signUp = async (email: string, password: string) => {
    const jar = new CookieJar()
    const page = await (await jar.fetch(`${server.url}/signup`)).text()
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!
    const response = await jar.fetch(`${server.url}/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, first_name: 'Eve', last_name: 'Probe', email, password }).toString(),
    })
    const html = await response.text()
    return { status: response.status, html: html.replace(/name="_csrf" value="[^"]+"/, '').replaceAll(email, 'EMAIL'), cookies: response.headers.getSetCookie().map((c) => c.split('=')[0]).sort() }
  }

  const fresh = await signUp('newcomer@example.com', 'a-new-password')
  const taken = await signUp(owner.email, 'attacker-password')
  t.equal(fresh.status, taken.status, `the same status (${fresh.status})`)
  t.equal(fresh.html, taken.html, 'the same page')
  t.strictSame(fresh.cookies, taken.cookies, 'the same cookies (no session for either)')
  t.match(fresh.html, /nothing was changed and we have e-mailed its owner/)

  const mail = readableMail((await within(smtp.next(), 'the e-mail to the owner', 20_000)).raw)
  t.match(mail.headers, /Subject: Someone tried to sign up with your address/)
  t.match(mail.headers, new RegExp(`To: ${owner.email}`))
  t.match(mail.text, /Hello Grace/)
  t.match(mail.text, /\/forgot-password/)
  t.equal((await passwordGrant(server, app, owner)).status, 200, 'the owner\'s password still works')
  t.equal((await passwordGrant(server, app, { email: owner.email, password: 'attacker-password' })).status, 400, 'the attempt\'s password does not')
  t.equal((await passwordGrant(server, app, { email: 'newcomer@example.com', password: 'a-new-password' })).status, 200, 'the new account exists')
  t.equal(smtp.count(), 1, 'the new account\'s sign-up sent nothing')
})

t.test('POST /users: 409 email_taken for management and admin tokens only', async (t) => {
  const smtp = await startSmtp(t)
  const server = await startTestServer(t, { env: { SMTP_URL: smtp.url } })
  const owner = await createUser(server)
  const stranger = await createUser(server)
  const plainApp = await createApp(server, stranger)
  const managementApp = await createApp(server, stranger, { management: true })
  const newUser = { first_name: 'Ada', last_name: 'Lovelace', password: 'analytical-engine' }

  const plainToken = await clientCredentials(server, plainApp)
  const freshAnswer = await server.api<Record<string, unknown>>('POST', '/users', { token: plainToken, body: { ...newUser, email: 'ada@example.com' } })
  const takenAnswer = await server.api<Record<string, unknown>>('POST', '/users', { token: plainToken, body: { ...newUser, email: owner.email.toUpperCase() } })
  t.equal(freshAnswer.status, 201)
  t.equal(takenAnswer.status, 201, 'a taken address answers like a success to a plain application')
  t.strictSame(Object.keys(takenAnswer.body).sort(), Object.keys(freshAnswer.body).sort(), 'with the same shape')
  t.match(takenAnswer.body, { email: owner.email, first_name: 'Ada', application_id: plainApp.clientId, last_login: null })
  t.not(takenAnswer.body.id, owner.userId, 'and reveals nothing of the owner')
  t.not(takenAnswer.body.account_id, owner.accountId)
  t.match(takenAnswer.headers.get('etag'), /./, 'an ETag like a success')
  const mail = readableMail((await within(smtp.next(), 'the e-mail to the owner', 20_000)).raw)
  t.match(mail.headers, new RegExp(`To: ${owner.email}`), 'the owner is told')

  const managementToken = await clientCredentials(server, managementApp)
  const told = await server.api<{ error: string; details: { field: string }[] }>('POST', '/users', { token: managementToken, body: { ...newUser, email: owner.email } })
  t.equal(told.status, 409, 'a management token learns the address is taken')
  t.equal(told.body.error, 'email_taken')
  t.equal(told.body.details[0]?.field, 'email')
  const admin = await createUser(server, { admin: true })
  const adminToken = server.tokenFor(admin.accountId, { roles: ['admin'], userId: admin.userId })
  t.equal((await server.api('POST', '/users', { token: adminToken, body: { ...newUser, email: owner.email } })).status, 409, 'so does an admin')
  t.equal(smtp.count(), 1, 'only the plain application\'s attempt e-mailed the owner')
})
