/**
 * POST /oauth/token and POST /oauth/revoke over real HTTP: every grant, both ways of
 * sending the client secret, JSON and form bodies, rotation and its replay, RFC 6749
 * error bodies, and the API text's curl example run with curl itself.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import jwt from 'jsonwebtoken'
import t from 'tap'
import { createApp, createUser, passwordGrant, tokenRequest } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

const run = promisify(execFile)

t.test('the token endpoint', async (t) => {
  const server = await startTestServer(t)
  const user = await createUser(server, { email: 'foobar@example.com', password: 'example-password' })
  const app = await createApp(server, user)

  await t.test("the API text's curl example works as printed (its placeholder values replaced by real ones)", async (t) => {
    // The text: curl -X POST --header 'Content-Type: application/x-www-form-urlencoded' --header 'Accept: application/json'
    //   -d 'grant_type=password&email=foobar%40example.com&password=example&client_id=123456' 'https://auth.mydevices.com/oauth/token'
    const { stdout } = await run('curl', [
      '-s', '-X', 'POST',
      '--header', 'Content-Type: application/x-www-form-urlencoded',
      '--header', 'Accept: application/json',
      '-d', `grant_type=password&email=foobar%40example.com&password=example-password&client_id=${app.clientId}`,
      `${server.url}/oauth/token`,
    ])
    const body = JSON.parse(stdout) as Record<string, unknown>
    t.type(body.access_token, 'string')
    t.type(body.refresh_token, 'string')
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 3600)
    const claims = jwt.decode(body.access_token as string) as Record<string, unknown>
    t.match(claims, { sub: user.userId, account_id: user.accountId, client_id: app.clientId, user_id: user.userId, roles: [] })
    t.equal((await server.api('GET', '/v1.1/things/types', { token: body.access_token as string })).status, 200)
  })

  await t.test('token_type is Bearer, capitalised, from every grant', async (t) => {
    const password = await passwordGrant(server, app, user)
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: password.body.refresh_token as string, client_id: app.clientId })
    const client = await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [app.clientId, app.clientSecret] })
    t.strictSame([password, refreshed, client].map((answer) => answer.body.token_type), ['Bearer', 'Bearer', 'Bearer'], 'password, refresh_token, client_credentials (authorization_code and implicit: oauth-code-flow.test.ts)')
  })

  await t.test('the password grant takes JSON too, and RFC 6749 username', async (t) => {
    const json = await tokenRequest(server, { grant_type: 'password', email: user.email, password: user.password, client_id: app.clientId }, { json: true })
    t.equal(json.status, 200)
    t.equal(json.headers.get('cache-control'), 'no-store')
    const username = await tokenRequest(server, { grant_type: 'password', username: user.email, password: user.password, client_id: app.clientId, client_secret: app.clientSecret })
    t.equal(username.status, 200)
    const scoped = await tokenRequest(server, { grant_type: 'password', email: user.email, password: user.password, client_id: app.clientId, scope: 'things,rules' })
    t.equal(scoped.body.scope, 'things rules', 'comma-separated scopes, as the API text sends them')
  })

  await t.test('a wrong password and an unknown e-mail get the same answer', async (t) => {
    const wrong = await tokenRequest(server, { grant_type: 'password', email: user.email, password: 'not-the-password', client_id: app.clientId })
    const unknown = await tokenRequest(server, { grant_type: 'password', email: 'nobody@example.com', password: 'not-the-password', client_id: app.clientId })
    t.equal(wrong.status, 400)
    t.strictSame(wrong.body, unknown.body, 'no user enumeration')
    t.strictSame(wrong.body, { error: 'invalid_grant', error_description: 'The e-mail address or the password is not right' })
  })

  await t.test('client credentials: Basic or body secret; a wrong secret is invalid_client', async (t) => {
    const basic = await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [app.clientId, app.clientSecret] })
    t.equal(basic.status, 200)
    t.notOk(basic.body.refresh_token, 'no refresh token for an application acting for itself')
    t.match(jwt.decode(basic.body.access_token as string), { sub: app.clientId, application_id: app.clientId, account_id: user.accountId, roles: [] })
    const body = await tokenRequest(server, { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret }, { json: true })
    t.equal(body.status, 200)
    for (const [label, answer] of [
      ['a wrong body secret', await tokenRequest(server, { grant_type: 'client_credentials', client_id: app.clientId, client_secret: 'wrong' })],
      ['a wrong Basic secret', await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [app.clientId, 'wrong'] })],
      ['no secret', await tokenRequest(server, { grant_type: 'client_credentials', client_id: app.clientId })],
      ['an unknown client', await tokenRequest(server, { grant_type: 'client_credentials', client_id: '00000000-0000-4000-8000-000000000042', client_secret: 'x' })],
      ['no client at all', await tokenRequest(server, { grant_type: 'client_credentials' })],
    ] as const) {
      t.equal(answer.status, 401, `${label}: 401`)
      t.equal(answer.body.error, 'invalid_client', `${label}: invalid_client`)
    }
    const nonManagement = await tokenRequest(server, { grant_type: 'client_credentials', account_id: 'someone-else' }, { basic: [app.clientId, app.clientSecret] })
    t.equal(nonManagement.status, 400, 'only a management application names account_id')
  })

  await t.test('a management application acts for a named account with the management role', async (t) => {
    const management = await createApp(server, user, { management: true })
    const answer = await tokenRequest(server, { grant_type: 'client_credentials', account_id: 'acct-42' }, { basic: [management.clientId, management.clientSecret] })
    t.equal(answer.status, 200)
    t.match(jwt.decode(answer.body.access_token as string), { account_id: 'acct-42', roles: ['management'] })
  })

  await t.test('refresh tokens rotate; replaying a rotated one revokes the whole family', async (t) => {
    const first = await passwordGrant(server, app, user)
    const r1 = first.body.refresh_token as string
    const second = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: r1, client_id: app.clientId })
    t.equal(second.status, 200)
    const r2 = second.body.refresh_token as string
    t.not(r2, r1, 'a new refresh token')
    const replay = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: r1, client_id: app.clientId })
    t.equal(replay.status, 400)
    t.equal(replay.body.error, 'invalid_grant')
    const afterReplay = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: r2, client_id: app.clientId })
    t.equal(afterReplay.status, 400, 'the newest token of the family is dead too')

    const other = await createApp(server, user, { name: 'Other' })
    const fresh = await passwordGrant(server, app, user)
    const stolen = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: fresh.body.refresh_token as string, client_id: other.clientId })
    t.equal(stolen.status, 400, 'a refresh token works only for its own client')
    const garbage = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: 'garbage', client_id: app.clientId })
    t.equal(garbage.body.error, 'invalid_grant')
  })

  await t.test('revocation (RFC 7009) ends a refresh family; unknown tokens answer 200 too', async (t) => {
    const issued = await passwordGrant(server, app, user)
    const revoke = (token: string, auth: [string, string]) =>
      fetch(`${server.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(auth.join(':')).toString('base64')}` },
        body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString(),
      })
    t.equal((await revoke('not-a-token', [app.clientId, app.clientSecret])).status, 200)
    t.equal((await revoke(issued.body.refresh_token as string, [app.clientId, 'wrong'])).status, 401)
    t.equal((await revoke(issued.body.refresh_token as string, [app.clientId, app.clientSecret])).status, 200)
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string, client_id: app.clientId })
    t.equal(refreshed.status, 400, 'the revoked token gets nothing')
  })

  await t.test('RFC 6749 error bodies for malformed requests', async (t) => {
    const unknownGrant = await tokenRequest(server, { grant_type: 'magic', client_id: app.clientId })
    t.equal(unknownGrant.status, 400)
    t.equal(unknownGrant.body.error, 'unsupported_grant_type')
    const noPassword = await tokenRequest(server, { grant_type: 'password', email: user.email, client_id: app.clientId })
    t.equal(noPassword.status, 400)
    t.equal(noPassword.body.error, 'invalid_request')
    const publicCode = await tokenRequest(server, { grant_type: 'authorization_code', code: 'x', redirect_uri: 'http://127.0.0.1/cb', client_id: app.clientId })
    t.equal(publicCode.body.error, 'invalid_grant', 'an unknown code')
  })
})
