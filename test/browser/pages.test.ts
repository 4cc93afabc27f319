/**
 * The pages a person uses, driven in real headless Chromium (playwright-core with the
 * Debian chromium; no browser is ever downloaded): sign up, the console (create an app,
 * see its App Key and App Secret, add a redirect URI), then an application's authorize
 * step: log in, consent, SSO skip, deny, and the lockout. Without /usr/bin/chromium the
 * test fails: it is never skipped.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { tokenRequest } from '../helpers/auth.ts'
import { startTestServer } from '../helpers/server.ts'

const executablePath = '/usr/bin/chromium'

async function launch(t: Test): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'capsicum-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(async () => {
    await context.close()
    rmSync(userDataDir, { recursive: true, force: true })
  })
  return context
}

/** The client application's redirect target: a page that just says where it was reached. */
async function startCallback(t: Test): Promise<string> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html')
    res.end('<!doctype html><title>callback</title><p>back at the client</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`
}

async function createAppInConsole(page: Page, name: string): Promise<{ key: string; secret: string }> {
  await page.getByLabel('Name').fill(name)
  await page.getByRole('button', { name: 'Create App' }).click()
  await page.waitForSelector('#app-credentials')
  return { key: (await page.textContent('#app-key'))!.trim(), secret: (await page.textContent('#app-secret'))!.trim() }
}

t.test('the pages in a real browser', async (t) => {
  t.ok(existsSync(executablePath), `${executablePath} is installed (apt-get install chromium); this test is never skipped`)
  const server = await startTestServer(t)
  const callback = await startCallback(t)
  const context = await launch(t)
  const page = await context.newPage()

  // Sign up ---------------------------------------------------------------------------
  await page.goto(`${server.url}/signup`)
  await page.getByLabel('First name').fill('Grace')
  await page.getByLabel('Last name').fill('Hopper')
  await page.getByLabel('E-mail').fill('grace@example.com')
  await page.getByLabel(/Password/).fill('cobol-rules')
  await page.getByRole('button', { name: 'Sign up' }).click()
  // The same answer for a new and a registered address: the login form with a notice (issue 15.6).
  await page.waitForSelector('p.notice')
  t.match(await page.textContent('p.notice'), /Log in with your new password/, 'sign-up asks to log in')
  await page.getByLabel('Password').fill('cobol-rules')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${server.url}/console`)
  t.match(await page.textContent('main'), 'Logged in as grace@example.com', 'the new account logs in and opens the console')

  // Console: create an app, see its credentials once, add a redirect URI -----------------
  const app = await createAppInConsole(page, 'My dashboard')
  t.match(app.key, /^[0-9a-f-]{36}$/, 'the App Key')
  t.match(app.secret, /^[A-Za-z0-9_-]{43}$/, 'the App Secret')
  await page.getByLabel('Add a redirect URI').fill(callback)
  await page.getByRole('button', { name: 'Add' }).click()
  await page.waitForURL(`${server.url}/console`)
  t.match(await page.textContent('table'), callback, 'the redirect URI is listed')
  t.match(await page.textContent('#app-secret'), app.secret, 'the new secret stays on the page until the person confirms they copied it')
  await page.reload()
  t.match(await page.textContent('#app-secret'), app.secret, 'even after a reload')
  await page.getByRole('button', { name: 'I have copied the App Secret' }).click()
  await page.waitForURL(`${server.url}/console`)
  t.notMatch(await page.textContent('main'), app.secret, 'confirmed: the secret is not shown again')
  await page.reload()
  t.notMatch(await page.textContent('main'), app.secret, 'not after a reload either')

  await page.getByRole('button', { name: 'Show MQTT credentials' }).click()
  await page.waitForSelector('#mqtt-credentials')
  mkdirSync(join(process.cwd(), '.tap', 'screenshots', 'pages'), { recursive: true })
  await page.screenshot({ path: join(process.cwd(), '.tap', 'screenshots', 'pages', 'console.png'), fullPage: true })
  t.match((await page.textContent('#mqtt-username'))!.trim(), /^[0-9a-f-]{36}$/, 'the MQTT username')
  t.ok((await page.textContent('#mqtt-password'))!.trim().length >= 16, 'the MQTT password')

  // From the App Key to a token and the platform API, as the API text describes.
  const token = await tokenRequest(server, { grant_type: 'client_credentials' }, { basic: [app.key, app.secret] })
  t.equal(token.status, 200)
  t.equal((await server.api('GET', '/v1.1/things/types', { token: token.body.access_token as string })).status, 200, 'the App Key and Secret reach the platform API')

  // The authorize step with the SSO cookie from the sign-up: consent, no login form ------
  const authorize = (clientId: string, state: string) =>
    `${server.url}/?response_type=code&client_id=${clientId}&redirect_uri=${encodeURIComponent(callback)}&scope=things&state=${state}`
  await page.goto(authorize(app.key, 'first'))
  t.equal(await page.locator('form[action="/login"]').count(), 0, 'SSO: no login form')
  t.match(await page.textContent('main'), 'My dashboard asks to access your Capsicum account')
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.waitForURL((url) => url.toString().startsWith(callback))
  let reached = new URL(page.url())
  t.equal(reached.searchParams.get('state'), 'first')
  t.ok(reached.searchParams.get('code'), 'a code')

  // Log out, then the authorize step asks to log in, then to consent for a new app --------
  await page.goto(`${server.url}/console`)
  const second = await createAppInConsole(page, 'Second app')
  await page.getByLabel('Add a redirect URI').last().fill(callback)
  await page.getByRole('button', { name: 'Add' }).last().click()
  await page.waitForURL(`${server.url}/console`)
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.waitForURL(`${server.url}/login`)

  await page.goto(authorize(second.key, 'second'))
  t.equal(await page.locator('form[action="/login"]').count(), 1, 'logged out: the login form')
  await page.getByLabel('E-mail').fill('grace@example.com')
  await page.getByLabel('Password').fill('cobol-rules')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('button', { name: 'Deny' }).click()
  await page.waitForURL((url) => url.toString().startsWith(callback))
  reached = new URL(page.url())
  t.equal(reached.searchParams.get('error'), 'access_denied', 'denying consent goes back with access_denied')
  t.equal(reached.searchParams.get('state'), 'second')

  await page.goto(authorize(app.key, 'again'))
  await page.waitForURL((url) => url.toString().startsWith(callback))
  t.ok(new URL(page.url()).searchParams.get('code'), 'SSO and the consent given before: straight back with a code')

  // An open redirect is refused with a page, not a redirect --------------------------------
  await page.goto(`${server.url}/?response_type=code&client_id=${app.key}&redirect_uri=${encodeURIComponent('https://evil.example/')}&state=x`)
  t.equal(new URL(page.url()).origin, server.url, 'the browser stays with us')
  t.match(await page.textContent('#error-message'), 'not registered')

  // Lockout: five wrong passwords in a flow send the browser back with access_denied -----
  const fresh = await launch(t)
  const other = await fresh.newPage()
  await other.goto(authorize(app.key, 'locked'))
  for (let i = 0; i < 5 && new URL(other.url()).origin === server.url; i++) {
    await other.getByLabel('E-mail').fill('grace@example.com')
    await other.getByLabel('Password').fill(`wrong-password-${i}`)
    await other.getByRole('button', { name: 'Log in' }).click()
    await other.waitForLoadState()
    if (i < 4) t.match(await other.textContent('#login-error'), 'not right', `failure ${i + 1} says the e-mail or password is not right`)
  }
  await other.waitForURL((url) => url.toString().startsWith(callback))
  reached = new URL(other.url())
  t.equal(reached.searchParams.get('error'), 'access_denied', 'after five failures: back with access_denied')
  t.equal(reached.searchParams.get('state'), 'locked')
})
