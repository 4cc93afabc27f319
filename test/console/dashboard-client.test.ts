/**
 * The dashboard's OAuth client over real HTTP: the built-in public application is seeded
 * once, takes the code flow with PKCE back to /dashboard/ on the origin asked and nowhere
 * else, skips the consent page (it is our own), cannot use a secret, and its tokens
 * reach the platform API and refresh. The page and its bundle: CSP, no inline script,
 * gzip.
 */
import { createHash, randomBytes } from 'node:crypto'
import t from 'tap'
import { applicationStreamName } from '../../domain/application/application.ts'
import { buildDashboard } from '../../commands/console/build.ts'
import { consoleApplicationId } from '../../commands/console/console-application.ts'
import { CookieJar, createUser, tokenRequest } from '../helpers/auth.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'

const hiddenFields = (html: string): Record<string, string> =>
  Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=')]))

async function logIn(server: TestServer, jar: CookieJar, user: { email: string; password: string }): Promise<void> {
  const form = await (await jar.fetch(`${server.url}/login`)).text()
  const response = await jar.fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hiddenFields(form), email: user.email, password: user.password }).toString(),
  })
  if (response.status !== 303) throw new Error(`login answered ${response.status}`)
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

const authorizeUrl = (server: TestServer, redirectUri: string, challenge: string) =>
  `${server.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: consoleApplicationId, redirect_uri: redirectUri, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' })}`

t.test('the built-in dashboard client: code flow with PKCE to its page on our origin only', async (t) => {
  const server = await startTestServer(t)
  const user = await createUser(server)
  const jar = new CookieJar()
  await logIn(server, jar, user)
  const { verifier, challenge } = pkce()

  for (const elsewhere of ['https://evil.example/dashboard/', `${server.url}/console`, `${server.url}/dashboard/x`, 'http://localhost:1/dashboard/']) {
    const refused = await jar.fetch(authorizeUrl(server, elsewhere, challenge))
    t.equal(refused.status, 400, `${elsewhere}: refused with a page`)
    t.equal(refused.headers.get('location'), null, `${elsewhere}: no redirect`)
  }

  const back = await jar.fetch(authorizeUrl(server, `${server.url}/dashboard/`, challenge))
  t.ok([302, 303].includes(back.status), `no consent page for our own dashboard: straight back (${back.status})`)
  const location = new URL(back.headers.get('location')!)
  t.equal(`${location.origin}${location.pathname}`, `${server.url}/dashboard/`, 'back to the dashboard')
  t.equal(location.searchParams.get('state'), 'st')
  const code = location.searchParams.get('code')!

  const noVerifier = await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: `${server.url}/dashboard/`, client_id: consoleApplicationId })
  t.equal(noVerifier.status, 400, 'the code needs its PKCE verifier')
  const { verifier: verifier2, challenge: challenge2 } = pkce()
  const second = new URL((await jar.fetch(authorizeUrl(server, `${server.url}/dashboard/`, challenge2))).headers.get('location')!)
  const tokens = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code: second.searchParams.get('code')!,
    redirect_uri: `${server.url}/dashboard/`,
    client_id: consoleApplicationId,
    code_verifier: verifier2,
  })
  t.equal(tokens.status, 200, 'a public client: client_id and the verifier are enough')
  const access = tokens.body.access_token as string
  t.equal((await server.api('GET', '/v1.1/things', { token: access })).status, 200, 'the token reaches the platform API')
  t.equal((await server.api('POST', '/v1.1/clients', { token: access })).status, 201, 'and makes MQTT credentials for the account')

  const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string, client_id: consoleApplicationId })
  t.equal(refreshed.status, 200, 'the refresh token works with client_id alone')
  t.not(refreshed.body.refresh_token, tokens.body.refresh_token, 'and is rotated')
  t.ok(verifier, 'the first verifier went unused (the code without it was refused)')

  const withSecret = await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [consoleApplicationId, 'anything'] })
  t.equal(withSecret.status, 401, 'no secret opens the dashboard client: it gets no client_credentials token')
  const noSecret = await tokenRequest(server, { grant_type: 'client_credentials', client_id: consoleApplicationId })
  t.not(noSecret.status, 200, 'nor without one')
})

t.test('seeded once: a restart on the same data finds the same application', async (t) => {
  const dataDir = tempDataDir(t)
  const first = await startTestServer(t, { dataDir })
  const events = async (server: TestServer) => (await server.capsicum.eventStore.readStream(applicationStreamName(consoleApplicationId))).length
  const before = await events(first)
  await first.close()
  const second = await startTestServer(t, { dataDir })
  t.equal(await events(second), before, 'no new event for the dashboard application')
  t.equal(before, 1, 'one ApplicationCreated')
})

t.test('the page and its bundle', async (t) => {
  await buildDashboard()
  const server = await startTestServer(t)
  const page = await fetch(`${server.url}/dashboard/`)
  t.equal(page.status, 200)
  const csp = page.headers.get('content-security-policy')!
  t.match(csp, "script-src 'self'", 'scripts from our origin only')
  t.notMatch(csp, 'unsafe-inline', 'nothing inline')
  t.equal(page.headers.get('cache-control'), 'no-store')
  const html = await page.text()
  t.strictSame([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]), ['<script type="module" src="/dashboard/assets/app.js">'], 'one script, from a file')
  t.match(html, /name="_csrf" value="[A-Za-z0-9_-]+"/, 'the log-out form carries its CSRF token')
  t.match(html, `data-mqtt-port="${server.capsicum.mqttPort}"`, 'the MQTT port for the mosquitto_pub line')

  const js = await fetch(`${server.url}/dashboard/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } })
  t.equal(js.status, 200)
  t.match(js.headers.get('content-type'), 'text/javascript')
  t.equal(js.headers.get('content-encoding'), 'gzip', 'compressed when the browser accepts it')
  const plain = await fetch(`${server.url}/dashboard/assets/app.js`, { headers: { 'accept-encoding': 'identity' } })
  t.equal(plain.headers.get('content-encoding'), null, 'plain otherwise')
  const plainBody = Buffer.from(await plain.arrayBuffer())
  t.ok(plainBody.length > 1000, 'the bundle')
  const etag = plain.headers.get('etag')!
  t.equal((await fetch(`${server.url}/dashboard/assets/app.js`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidated with its ETag')
  t.equal((await fetch(`${server.url}/dashboard/assets/styles.css`)).headers.get('content-type'), 'text/css; charset=utf-8')
  t.equal((await fetch(`${server.url}/dashboard/assets/..%2Fbuild.ts`)).status, 404, 'nothing but the two files')
  t.equal((await fetch(`${server.url}/dashboard/assets/other.js`)).status, 404)
})
