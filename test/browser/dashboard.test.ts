/**
 * The dashboard in real headless Chromium (Debian's /usr/bin/chromium through
 * playwright-core; never skipped, never downloaded) against the real server and a real
 * mqtt.js device: sign up, sign in to the dashboard with PKCE, create a thing, connect
 * the device with the credentials the page shows, see readings arrive in the tiles
 * without a reload and on the chart, send a command the device acknowledges, create a
 * rule and see it fire at the device, see its what-if marks, read the timeline and the
 * thing as it was. Screenshots go to .tap/screenshots/dashboard/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { buildDashboard } from '../../commands/console/build.ts'
import { consoleApplicationId } from '../../commands/console/console-application.ts'
import { connectDevice, waitUntil } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

const executablePath = '/usr/bin/chromium'
const screenshots = join(process.cwd(), '.tap', 'screenshots', 'dashboard')

async function launch(t: Test): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'capsicum-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(async () => {
    await context.close()
    rmSync(userDataDir, { recursive: true, force: true })
  })
  return context
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true })
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })
}

const tileValue = (page: Page, channel: string) => page.locator(`.tile[data-channel="${channel}"] .tile-value`)

t.test('the dashboard in a real browser, with a real device', async (t) => {
  t.ok(existsSync(executablePath), `${executablePath} is installed (apt-get install chromium); this test is never skipped`)
  await buildDashboard()
  const server = await startTestServer(t)
  const context = await launch(t)
  const page = await context.newPage()
  const pageErrors: string[] = []
  // The page as it was when the test ended (a failure's picture), before the browser closes.
  t.teardown(async () => {
    if (pageErrors.length > 0) t.comment(pageErrors.join('\n'))
    await shoot(page, 'last').catch(() => {})
  })
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
  const assetBytes = new Map<string, number>()
  const requestedUrls: string[] = []
  const streamResumes: string[] = []
  page.on('request', (request) => {
    requestedUrls.push(request.url())
    const resumeFrom = request.headers()['last-event-id']
    if (request.url().endsWith('/stream') && resumeFrom) streamResumes.push(resumeFrom)
  })
  page.on('response', (response) => {
    const url = new URL(response.url())
    if (url.pathname.startsWith('/dashboard/assets/') && response.status() === 200) {
      assetBytes.set(url.pathname, Number(response.headers()['content-length']))
    }
  })

  // Sign up, then the dashboard signs in with the code flow and PKCE (no consent: it is ours) --
  await page.goto(`${server.url}/signup`)
  await page.getByLabel('First name').fill('Ada')
  await page.getByLabel('Last name').fill('Lovelace')
  await page.getByLabel('E-mail').fill('ada@example.com')
  await page.getByLabel(/Password/).fill('analytical-engine')
  await page.getByRole('button', { name: 'Sign up' }).click()
  // sign-up answers with the login form, whether or not the address was new (issue 15.6)
  await page.waitForSelector('p.notice')
  await page.getByLabel('Password').fill('analytical-engine')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${server.url}/console`)
  await page.goto(`${server.url}/dashboard/`)
  await page.getByRole('heading', { name: 'Things', level: 1 }).waitFor()
  t.equal(new URL(page.url()).search, '', 'the code is taken out of the address')
  const authorizeUrl = requestedUrls.find((u) => u.includes('/oauth/authorize?'))
  t.ok(authorizeUrl, 'it went through the authorize step')
  const authorize = new URL(authorizeUrl!).searchParams
  t.equal(authorize.get('client_id'), consoleApplicationId, 'as the built-in dashboard application')
  t.equal(authorize.get('code_challenge_method'), 'S256', 'with PKCE')
  t.equal(authorize.get('redirect_uri'), `${server.url}/dashboard/`)
  t.notOk(requestedUrls.some((u) => /access_token|refresh_token/.test(u)), 'no token in any URL')
  t.strictSame(
    await page.evaluate('({ local: localStorage.length, session: sessionStorage.length, cookies: document.cookie })'),
    { local: 0, session: 0, cookies: '' },
    'nothing in storage, no script-readable cookie',
  )
  t.match(await page.evaluate(async () => (await fetch('/dashboard/')).headers.get('content-security-policy')), /script-src 'self'/, 'CSP: scripts from our origin only')

  // The keyboard alone: skip link first, then the menu; a page change moves focus to it ------
  const focused = () => page.evaluate('document.activeElement.textContent.trim()')
  await page.keyboard.press('Tab')
  t.equal(await focused(), 'Skip to content', 'the first Tab reaches the skip link')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  t.equal(await focused(), 'Rules', 'then the menu')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor()
  t.equal(await page.evaluate('document.activeElement.id'), 'main', 'the new page has the focus')
  await page.getByRole('link', { name: 'Things' }).click()
  await page.getByRole('heading', { name: 'Things', level: 1 }).waitFor()

  // Create a thing -----------------------------------------------------------------------
  await page.getByLabel('Name').fill('Greenhouse')
  await page.getByLabel('Type').selectOption({ label: 'Generic gateway' })
  await page.getByRole('button', { name: 'Add thing' }).click()
  await page.getByRole('heading', { name: 'Greenhouse', level: 1 }).waitFor()
  const thingId = decodeURIComponent(new URL(page.url()).hash.replace('#/things/', ''))
  t.match(thingId, /^[0-9a-f-]{36}$/, 'the thing page opens')

  // Connect the device with the credentials the page shows --------------------------------
  await page.getByRole('button', { name: 'Show MQTT credentials' }).click()
  const username = (await page.textContent('#mqtt-username'))!.trim()
  const password = (await page.textContent('#mqtt-password'))!.trim()
  const line = (await page.textContent('#mosquitto-line'))!
  t.match(line, `-p ${server.capsicum.mqttPort}`, 'the mosquitto_pub line has our MQTT port')
  t.match(line, `-i '${thingId}' -t 'v1/${username}/things/${thingId}/data/1'`, 'and the thing as client id and topic')
  const device = await connectDevice(t, server.capsicum.mqttUrl!, { clientId: thingId, username, password })
  const topic = `v1/${username}/things/${thingId}`
  await device.subscribe(`${topic}/cmd/+`, 1)
  await page.locator('#live-state', { hasText: 'Live' }).waitFor()

  // Readings reach the tiles live, without a reload ---------------------------------------
  await page.evaluate('window.notReloaded = true')
  const publishedAt = performance.now()
  await device.publish(`${topic}/data/1`, 'temp,c=21.5')
  await tileValue(page, '1').filter({ hasText: '21.5' }).waitFor()
  const firstLiveValueMs = Math.round(performance.now() - publishedAt)
  t.pass(`the first reading shows in its tile (${firstLiveValueMs} ms from publish to tile)`)
  t.equal((await page.textContent('.tile[data-channel="1"] .tile-type'))!.trim(), 'temp', 'the tile names the type')
  t.equal((await page.textContent('.tile[data-channel="1"] .tile-unit'))!.trim(), 'c', 'and the unit')
  await device.publish(`${topic}/data/1`, 'temp,c=23.25')
  await tileValue(page, '1').filter({ hasText: '23.25' }).waitFor()
  t.equal(await page.evaluate('window.notReloaded'), true, 'the tile changed without a reload')
  await device.publish(`${topic}/data/2`, 'digital_actuator,d=0')
  await tileValue(page, '2').filter({ hasText: '0' }).waitFor()

  // The chart ----------------------------------------------------------------------------
  const chart = page.locator('figure.chart').first()
  await chart.locator('canvas').waitFor()
  await waitUntil(async () => (Number(await chart.getAttribute('data-points')) >= 2 ? true : undefined), 'the chart to hold both readings')
  await chart.getByRole('button', { name: 'Day' }).click()
  await waitUntil(async () => ((await chart.getByRole('button', { name: 'Day' }).getAttribute('aria-pressed')) === 'true' ? true : undefined), 'the day range')
  await waitUntil(async () => (Number(await chart.getAttribute('data-points')) >= 1 ? true : undefined), 'the hourly buckets of the day')
  await chart.getByRole('button', { name: 'Last hour' }).click()

  // A command, acknowledged by the device ---------------------------------------------------
  await page.getByLabel('Channel', { exact: true }).fill('2')
  await page.getByLabel('Value', { exact: true }).fill('1')
  await page.getByRole('button', { name: 'Send command' }).click()
  const command = await device.nextMessage((m) => m.topic === `${topic}/cmd/2`, 'the command at the device')
  const [seq, value] = command.text.split(',')
  t.equal(value, '1', 'the device gets the value sent')
  await page.locator('#commands td.state').first().filter({ hasText: /Requested|Delivered/ }).waitFor()
  await device.publish(`${topic}/response`, `ok,${seq}`)
  await page.locator('#commands td.state').first().filter({ hasText: 'Acknowledged' }).waitFor()
  t.pass('the command shows as acknowledged')
  await device.publish(`${topic}/data/2`, 'digital_actuator,d=1')
  await tileValue(page, '2').filter({ hasText: '1' }).waitFor()
  await shoot(page, 'thing')

  // Phone width: nothing wider than the screen ---------------------------------------------
  await page.setViewportSize({ width: 375, height: 800 })
  await page.waitForTimeout(200) // the charts resize on the next frame; no assertion depends on it
  t.equal(await page.evaluate('document.documentElement.scrollWidth'), 375, 'the thing page fits a 375 px screen (nothing scrolls sideways)')
  await shoot(page, 'thing-phone')
  await page.setViewportSize({ width: 1100, height: 900 })

  // A rule fires at the device; its what-if marks the reading --------------------------------
  await page.getByRole('link', { name: 'Rules' }).click()
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor()
  await page.getByLabel('Name').fill('Too hot: open the vent')
  await page.getByLabel('Thing', { exact: true }).selectOption({ label: 'Greenhouse' })
  await page.getByLabel('Channel', { exact: true }).fill('1')
  await page.getByLabel('Is').selectOption('gt')
  await page.getByLabel('Value', { exact: true }).fill('25')
  await page.getByLabel('Do').selectOption('command')
  await page.getByLabel('Command channel').fill('2')
  await page.getByLabel('Command value').fill('1')
  await page.getByRole('button', { name: 'Create rule' }).click()
  const card = page.locator('#rules .card', { hasText: 'Too hot: open the vent' })
  await card.waitFor()
  t.match(await card.textContent(), 'When Greenhouse channel 1 is above 25: command 1 to Greenhouse channel 2', 'the rule reads as it was made')
  // A second rule whose HTTP push is refused (a loopback address): a dead delivery to retry.
  await page.getByLabel('Name').fill('Tell the farm')
  await page.getByLabel('Value', { exact: true }).fill('28')
  await page.getByLabel('Do').selectOption('http')
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook')
  await page.getByRole('button', { name: 'Create rule' }).click()
  await page.locator('#rules .card', { hasText: 'Tell the farm' }).waitFor()

  const before = device.messages.length
  await device.publish(`${topic}/data/1`, 'temp,c=30')
  const fired = await device.nextMessage((m) => device.messages.indexOf(m) >= before && m.topic === `${topic}/cmd/2`, 'the rule\'s command at the device', 15_000)
  t.equal(fired.text.split(',')[1], '1', 'the rule fired: the device got its command')

  await card.getByRole('button', { name: 'What if: last day' }).click()
  await card.locator('.what-if-result').waitFor()
  t.match(await card.locator('.what-if-result').textContent(), /would have fired 1 time \(3 readings checked\)/, 'what-if: the one reading above 25')
  const whatIfChart = card.locator('figure.chart')
  await whatIfChart.locator('canvas').waitFor()
  t.equal(await whatIfChart.getAttribute('data-marks'), '1', 'the what-if mark is on the channel\'s chart')
  await whatIfChart.locator('summary').click()
  t.match(await whatIfChart.locator('.marks li').first().textContent(), ': 30', 'and listed with its value')
  await card.getByRole('button', { name: 'Disable' }).click()
  await card.getByText('disabled', { exact: true }).waitFor()
  await card.getByRole('button', { name: 'Enable' }).click()
  await card.getByText('enabled', { exact: true }).waitFor()
  await shoot(page, 'rules')

  // Jobs and deliveries pages answer ---------------------------------------------------------
  await page.getByRole('link', { name: 'Jobs' }).click()
  await page.getByLabel('Name').fill('Morning vent')
  await page.getByLabel('Every').fill('1')
  await page.getByLabel('Unit').selectOption('day')
  await page.getByRole('button', { name: 'Create job' }).click()
  const jobCard = page.locator('#jobs .card', { hasText: 'Morning vent' })
  await jobCard.waitFor()
  t.notMatch(await jobCard.locator('.next-run').textContent(), 'none', 'the job shows its next run')
  await jobCard.getByRole('button', { name: 'Runs' }).click()
  await jobCard.getByText('No runs yet.').waitFor()
  await shoot(page, 'jobs')
  await page.getByRole('link', { name: 'Deliveries' }).click()
  const dead = page.locator('#deliveries .card', { hasText: 'http://127.0.0.1:9/hook' })
  await dead.waitFor()
  t.match(await dead.textContent(), /dead.*Tell the farm.*1 attempt\(s\)/s, 'the refused push is listed as dead, with its rule')
  await dead.getByRole('button', { name: 'Retry' }).click()
  await dead.locator('.badge', { hasText: 'pending' }).waitFor()
  t.pass('retry: the delivery is due again (pending)')

  // The timeline, and the thing as it was ----------------------------------------------------
  await page.getByRole('link', { name: 'Things' }).click()
  const row = page.locator(`#things tr[data-thing-id="${thingId}"]`)
  await row.waitFor()
  t.match(await row.locator('.last-online').textContent(), /just now|minute/, 'last online reads as a time ago')
  // A child under the gateway, shown under it; then deactivated from its page
  await page.getByLabel('Name').fill('Vent motor')
  await page.getByLabel('Type').selectOption({ label: 'Generic actuator' })
  await page.getByLabel('Under (gateway)').selectOption({ label: 'Greenhouse' })
  await page.getByRole('button', { name: 'Add thing' }).click()
  await page.getByRole('heading', { name: 'Vent motor', level: 1 }).waitFor()
  await page.getByRole('link', { name: '← Things' }).click()
  const childRow = page.locator('#things tr', { hasText: 'Vent motor' })
  await childRow.waitFor()
  t.equal(await childRow.locator('th').getAttribute('class'), 'depth-1', 'the child sits under its gateway')
  t.match(await childRow.textContent(), '(child of Greenhouse)', 'and says so to a screen reader')
  const order = await page.locator('#things tbody th a').allTextContents()
  t.strictSame(order, ['Greenhouse', 'Vent motor'], 'right after it')
  await childRow.getByRole('link', { name: 'Vent motor' }).click()
  page.once('dialog', (dialog) => void dialog.accept())
  await page.getByRole('button', { name: 'Deactivate' }).click()
  await page.getByRole('heading', { name: 'Things', level: 1 }).waitFor()
  await row.waitFor()
  t.equal(await page.locator('#things tr', { hasText: 'Vent motor' }).count(), 0, 'deactivated: no longer listed')

  await row.getByRole('link', { name: 'Greenhouse' }).click()
  const createdAt = new Date()
  await page.getByLabel('Name', { exact: true }).fill('Glasshouse')
  await page.getByRole('button', { name: 'Rename' }).click()
  await page.getByRole('heading', { name: 'Glasshouse', level: 1 }).waitFor()
  await page.getByRole('button', { name: 'Refresh timeline' }).click()
  await page.locator('#timeline li', { hasText: 'ThingUpdated' }).waitFor()
  const timeline = (await page.textContent('#timeline'))!
  t.match(timeline, 'ThingCreated', 'the timeline starts with the creation')
  t.match(timeline, 'CommandAcknowledged', 'and has the acknowledged command')
  const local = new Date(createdAt.getTime() - createdAt.getTimezoneOffset() * 60_000).toISOString().slice(0, 19)
  await page.getByLabel('The thing as it was at').fill(local)
  await page.getByRole('button', { name: 'Show it then' }).click()
  t.match(await page.locator('#as-of-result').textContent(), 'Greenhouse', 'as_of: the name it had before the rename')

  // A reload signs in again without a page (the SSO cookie) and comes back here ----------------
  await page.reload()
  await page.getByRole('heading', { name: 'Glasshouse', level: 1 }).waitFor()
  await tileValue(page, '1').filter({ hasText: '30' }).waitFor()
  t.pass('after a reload: signed in again, on the same page, with the latest values')

  // A dropped stream resumes where it stopped: the reading sent meanwhile still arrives ------
  await page.locator('#live-state', { hasText: 'Live' }).waitFor()
  await device.publish(`${topic}/data/1`, 'temp,c=24')
  await tileValue(page, '1').filter({ hasText: '24' }).waitFor()
  server.capsicum.server.closeAllConnections()
  await page.locator('#live-state', { hasText: 'reconnecting' }).waitFor()
  await device.publish(`${topic}/data/3`, 'rel_hum,p=55')
  await tileValue(page, '3').filter({ hasText: '55' }).waitFor()
  t.pass('after the connection dropped, the stream came back with the reading sent meanwhile')
  t.ok(streamResumes.length >= 1 && streamResumes.every((id) => /^\d+(\.\d+)?$/.test(id)), `it resumed with Last-Event-ID (${streamResumes.join(', ')})`)

  const bytes = [...assetBytes.values()].reduce((a, b) => a + b, 0)
  t.ok(bytes > 0, `JS and CSS of a thing's page: ${bytes} bytes gzipped (${[...assetBytes].map(([p, b]) => `${p} ${b}`).join(', ')})`)
  // The one error expected: the stream cut above.
  t.strictSame(pageErrors.filter((e) => !e.includes('ERR_INCOMPLETE_CHUNKED_ENCODING')), [], 'no errors in the page (CSP violations would show here)')
})

t.test('the access token is refreshed before it expires, with the refresh token kept in memory', async (t) => {
  await buildDashboard()
  // 60 s is the shortest lifetime the server allows; the page refreshes at 80% of it.
  const server = await startTestServer(t, { env: { ACCESS_TOKEN_TTL: '60' } })
  const context = await launch(t)
  const page = await context.newPage()
  const refreshes: number[] = []
  page.on('response', async (response) => {
    if (response.url().endsWith('/oauth/token') && (response.request().postData() ?? '').includes('grant_type=refresh_token')) refreshes.push(response.status())
  })
  await page.goto(`${server.url}/signup`)
  await page.getByLabel('First name').fill('Alan')
  await page.getByLabel('Last name').fill('Turing')
  await page.getByLabel('E-mail').fill('alan@example.com')
  await page.getByLabel(/Password/).fill('enigma-machine')
  await page.getByRole('button', { name: 'Sign up' }).click()
  // sign-up answers with the login form, whether or not the address was new (issue 15.6)
  await page.waitForSelector('p.notice')
  await page.getByLabel('Password').fill('enigma-machine')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${server.url}/console`)
  await page.goto(`${server.url}/dashboard/#/rules`)
  await page.getByRole('heading', { name: 'Rules', level: 1 }).waitFor()
  await page.getByText('No rules yet.').waitFor()
  // A call after 48 s needs a fresh token: move between pages every 2 s until the page made one.
  for (let waited = 0; refreshes.length === 0 && waited < 120_000; waited += 2000) {
    await page.waitForTimeout(2000)
    await page.getByRole('link', { name: 'Jobs' }).click()
    await page.getByRole('link', { name: 'Rules' }).click()
  }
  t.strictSame(refreshes.slice(0, 1), [200], 'refreshed with the refresh token')
  await page.getByText('No rules yet.').waitFor()
  t.equal(await page.locator('.error').count(), 0, 'and the API answers the new token')
  t.strictSame(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]'), [0, 0, ''], 'still nothing in storage')
})
