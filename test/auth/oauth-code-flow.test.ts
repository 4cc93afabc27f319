/**
 * The authorization code flow end to end over real HTTP: the authorize step, the login
 * and consent pages (driven with fetch and a cookie jar), the code exchange with PKCE by
 * an independent OAuth2 client library (openid-client), SSO, the implicit flow, and the
 * attacks the flow must refuse.
 */
import * as oidc from 'openid-client'
import t, { type Test } from 'tap'
import { createApp, createUser, CookieJar, tokenRequest, type TestApp, type TestUser } from '../helpers/auth.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'

const redirectUri = 'http://127.0.0.1:9/callback'

/** The hidden form fields of a page. */
function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[match[1]!] = match[2]!.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=').replaceAll('&quot;', '"')
  }
  return fields
}

async function post(jar: CookieJar, url: string, fields: Record<string, string>): Promise<Response> {
  return jar.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })
}

/** Follows the authorize step through the login form (when shown) and the consent form; returns the final redirect. */
async function authorizeInBrowser(server: TestServer, jar: CookieJar, authorizeUrl: string, user: TestUser, decision: 'allow' | 'deny' = 'allow') {
  let response = await jar.fetch(authorizeUrl)
  let html = await response.text()
  if (html.includes('action="/login"')) {
    const login = await post(jar, `${server.url}/login`, { ...formFields(html), email: user.email, password: user.password })
    if (login.status !== 303) throw new Error(`login answered ${login.status}: ${await login.text()}`)
    response = await jar.fetch(new URL(login.headers.get('location')!, server.url).toString())
    html = await response.text()
  }
  if (response.status === 303 || response.status === 302) return response
  if (!html.includes('/oauth/authorize/decision')) throw new Error(`expected the consent page, got ${response.status}: ${html}`)
  const fields = formFields(html)
  return post(jar, `${server.url}/oauth/authorize/decision`, decision === 'allow' ? { ...fields, allow: 'allow' } : { ...fields, cancel: 'deny' })
}

async function setup(t: Test) {
  const server = await startTestServer(t)
  const owner = await createUser(server)
  const app = await createApp(server, owner, { name: 'Third party' })
  const ownerToken = server.capsicum.tokens.sign({ sub: owner.userId, account_id: owner.accountId, user_id: owner.userId, roles: [] })
  const added = await server.api('POST', `/applications/${app.clientId}/redirects`, { token: ownerToken, body: { redirect_uri: redirectUri } })
  if (added.status !== 200) throw new Error(`redirect not added: ${added.text}`)
  const user = await createUser(server)
  return { server, app, user }
}

function oidcConfig(server: TestServer, app: TestApp) {
  const config = new oidc.Configuration(
    { issuer: server.url, authorization_endpoint: `${server.url}/oauth/authorize`, token_endpoint: `${server.url}/oauth/token` },
    app.clientId,
    app.clientSecret,
  )
  oidc.allowInsecureRequests(config)
  return config
}

/** The token endpoint's raw answers (openid-client lowercases token_type in what it returns). */
function recordTokenAnswers(config: oidc.Configuration): Record<string, unknown>[] {
  const answers: Record<string, unknown>[] = []
  config[oidc.customFetch] = async (url, options) => {
    const response = await fetch(url, options as RequestInit)
    if (new URL(url).pathname === '/oauth/token') answers.push((await response.clone().json()) as Record<string, unknown>)
    return response
  }
  return answers
}

t.test('openid-client completes the code flow with PKCE against us', async (t) => {
  const { server, app, user } = await setup(t)
  const config = oidcConfig(server, app)
  const rawAnswers = recordTokenAnswers(config)
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'things,rules',
    state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  })
  const jar = new CookieJar()
  const back = await authorizeInBrowser(server, jar, url.toString(), user)
  t.equal(back.status, 302)
  const location = new URL(back.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, redirectUri, 'back to the registered redirect URI')
  t.equal(location.searchParams.get('state'), state, 'with the state')
  t.match(location.searchParams.get('code'), /^[0-9a-f-]{36}\.[A-Za-z0-9_-]+$/)

  const tokens = await oidc.authorizationCodeGrant(config, location, { pkceCodeVerifier: verifier, expectedState: state })
  t.ok(tokens.access_token, 'an access token')
  t.ok(tokens.refresh_token, 'a refresh token')
  t.equal(rawAnswers.at(-1)?.token_type, 'Bearer', 'token_type is Bearer, capitalised, as RFC 6750 writes it')
  t.equal(tokens.expires_in, 3600)
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  t.match(claims, { sub: user.userId, account_id: user.accountId, client_id: app.clientId, scope: 'things rules', roles: [], iss: 'capsicum' })
  t.type(claims.jti, 'string')
  t.equal((claims.exp as number) - (claims.iat as number), 3600, 'one hour')
  const types = await server.api('GET', '/v1.1/things/types', { token: tokens.access_token })
  t.equal(types.status, 200, 'the token works on the platform API')

  await t.test('the code cannot be used twice, and the replay revokes what it gave', async (t) => {
    const replay = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code: location.searchParams.get('code')!,
      redirect_uri: redirectUri,
      client_id: app.clientId,
      client_secret: app.clientSecret,
      code_verifier: verifier,
    })
    t.equal(replay.status, 400)
    t.equal(replay.body.error, 'invalid_grant')
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: app.clientId })
    t.equal(refreshed.status, 400, 'the refresh token of the first exchange is revoked')
    t.equal(refreshed.body.error, 'invalid_grant')
  })

  await t.test('SSO: a second authorize for another application skips the login form', async (t) => {
    const owner2 = await createUser(server)
    const other = await createApp(server, owner2, { name: 'Other app' })
    const ownerToken = server.capsicum.tokens.sign({ sub: owner2.userId, account_id: owner2.accountId, user_id: owner2.userId, roles: [] })
    await server.api('POST', `/applications/${other.clientId}/redirects`, { token: ownerToken, body: { redirect_uri: redirectUri } })
    const first = await jar.fetch(`${server.url}/?response_type=code&client_id=${other.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=s2`)
    const html = await first.text()
    t.equal(first.status, 200)
    t.notMatch(html, 'action="/login"', 'no login form')
    t.match(html, 'Other app', 'the consent page names the application')
    const decided = await post(jar, `${server.url}/oauth/authorize/decision`, { ...formFields(html), allow: 'allow' })
    t.equal(decided.status, 302)
    t.match(decided.headers.get('location'), /code=.*state=s2/)

    const again = await jar.fetch(`${server.url}/?response_type=code&client_id=${other.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=s3`)
    t.equal(again.status, 302, 'a consent already given is not asked again: straight back')
    t.match(again.headers.get('location'), /code=.*state=s3/)
  })

  await t.test('POST /logout ends SSO: the next authorize shows the login form again', async (t) => {
    const page = await jar.fetch(`${server.url}/login?return_to=%2Fconsole`)
    t.equal(page.status, 303, 'logged in: /login goes on')
    const consolePage = await (await jar.fetch(`${server.url}/console`)).text()
    const out = await post(jar, `${server.url}/logout`, formFields(consolePage))
    t.equal(out.status, 303)
    const after = await jar.fetch(`${server.url}/?response_type=code&client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=s4`)
    t.match(await after.text(), 'action="/login"')
  })
})

t.test('the implicit flow returns a token in the fragment and no refresh token', async (t) => {
  const { server, app, user } = await setup(t)
  const jar = new CookieJar()
  const back = await authorizeInBrowser(server, jar, `${server.url}/?response_type=token&client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&scope=things&state=xyz`, user)
  const location = back.headers.get('location')!
  t.match(location, new RegExp(`^${redirectUri}#`))
  const fragment = new URLSearchParams(location.split('#')[1])
  t.ok(fragment.get('access_token'))
  t.equal(fragment.get('state'), 'xyz')
  t.equal(fragment.get('refresh_token'), null)
  t.equal(fragment.get('token_type'), 'Bearer')
  const types = await server.api('GET', '/v1.1/things/types', { token: fragment.get('access_token')! })
  t.equal(types.status, 200)
})

t.test('denying consent redirects back with access_denied', async (t) => {
  const { server, app, user } = await setup(t)
  const back = await authorizeInBrowser(server, new CookieJar(), `${server.url}/oauth/authorize?response_type=code&client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&state=abc`, user, 'deny')
  const location = new URL(back.headers.get('location')!)
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('state'), 'abc')
  t.equal(location.searchParams.get('code'), null)
})

t.test('the authorize step refuses what it must', async (t) => {
  const { server, app, user } = await setup(t)
  const authorize = (query: string) => fetch(`${server.url}/oauth/authorize?${query}`, { redirect: 'manual' })
  const good = `client_id=${app.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}`

  await t.test('an unknown client: an error page, never a redirect', async (t) => {
    for (const query of [
      `response_type=code&client_id=00000000-0000-4000-8000-000000000099&redirect_uri=${encodeURIComponent(redirectUri)}&state=s`,
      `response_type=code&redirect_uri=${encodeURIComponent(redirectUri)}&state=s`,
    ]) {
      const res = await authorize(query)
      t.equal(res.status, 400)
      t.equal(res.headers.get('location'), null)
      t.match(await res.text(), 'Unknown application')
    }
  })

  await t.test('an open redirect: a redirect_uri that is not whitelisted gets an error page', async (t) => {
    for (const uri of ['https://evil.example/steal', `${redirectUri}/more`, `${redirectUri}?x=1`, '']) {
      const res = await authorize(`response_type=code&client_id=${app.clientId}&redirect_uri=${encodeURIComponent(uri)}&state=s`)
      t.equal(res.status, 400, `refuses ${uri || 'a missing redirect_uri'}`)
      t.equal(res.headers.get('location'), null, 'no redirect')
      t.match(await res.text(), 'Wrong redirect address')
    }
  })

  await t.test('a missing state redirects back with invalid_request', async (t) => {
    const res = await authorize(`response_type=code&${good}`)
    t.equal(res.status, 303)
    const location = new URL(res.headers.get('location')!)
    t.equal(location.searchParams.get('error'), 'invalid_request')
    t.match(location.searchParams.get('error_description'), /state/)
  })

  await t.test('a wrong response_type redirects back with unsupported_response_type and the state', async (t) => {
    const res = await authorize(`response_type=id_token&${good}&state=st`)
    const location = new URL(res.headers.get('location')!)
    t.equal(location.searchParams.get('error'), 'unsupported_response_type')
    t.equal(location.searchParams.get('state'), 'st')
  })

  await t.test('a PKCE challenge with the plain method is refused', async (t) => {
    const res = await authorize(`response_type=code&${good}&state=st&code_challenge=${'a'.repeat(43)}&code_challenge_method=plain`)
    t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'invalid_request')
  })

  await t.test('a code exchange that breaks the binding is refused', async (t) => {
    const verifier = oidc.randomPKCECodeVerifier()
    const challenge = await oidc.calculatePKCECodeChallenge(verifier)
    const back = await authorizeInBrowser(server, new CookieJar(), `${server.url}/?response_type=code&${good}&state=q&code_challenge=${challenge}&code_challenge_method=S256`, user)
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!
    const exchange = (extra: Record<string, string>) =>
      tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: app.clientId, client_secret: app.clientSecret, code_verifier: verifier, ...extra })
    t.match((await exchange({ redirect_uri: 'http://127.0.0.1:9/other' })).body, { error: 'invalid_grant' }, 'another redirect_uri')
    t.match((await exchange({ code_verifier: oidc.randomPKCECodeVerifier() })).body, { error: 'invalid_grant' }, 'a wrong verifier')
    t.match((await exchange({ client_secret: 'wrong' })), { status: 401, body: { error: 'invalid_client' } }, 'a wrong secret')
    const ok = await exchange({})
    t.equal(ok.status, 200, 'the right exchange still works after the refused ones')
  })

  await t.test('a blocked application gets no token and the authorize step says so', async (t) => {
    const admin = await createUser(server, { admin: true })
    const adminToken = server.capsicum.tokens.sign({ sub: admin.userId, account_id: admin.accountId, user_id: admin.userId, roles: ['admin'] })
    const blocked = await server.api('PUT', `/applications/${app.clientId}`, { token: adminToken, body: { status: 'blocked' } })
    t.equal(blocked.status, 200)
    const res = await authorize(`response_type=code&${good}&state=st`)
    t.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'unauthorized_client')
    const cc = await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [app.clientId, app.clientSecret] })
    t.equal(cc.status, 401)
    t.equal(cc.body.error, 'invalid_client')
    const pw = await tokenRequest(server, { grant_type: 'password', email: user.email, password: user.password, client_id: app.clientId })
    t.equal(pw.status, 401)
  })
})
