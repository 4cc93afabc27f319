/**
 * The console keeps a new App Secret on the page until the person confirms they copied
 * it; the cookie that holds it is sealed, bound to that user and cleared on confirm.
 */
import t from 'tap'
import { CookieJar, createUser } from '../helpers/auth.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'

const hiddenFields = (html: string): Record<string, string> =>
  Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replaceAll('&amp;', '&').replaceAll('&#x3D;', '=')]))

const postForm = (jar: CookieJar, url: string, fields: Record<string, string>) =>
  jar.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() })

async function logIn(server: TestServer, jar: CookieJar, user: { email: string; password: string }): Promise<void> {
  const form = await (await jar.fetch(`${server.url}/login`)).text()
  const response = await postForm(jar, `${server.url}/login`, { ...hiddenFields(form), email: user.email, password: user.password })
  if (response.status !== 303) throw new Error(`login answered ${response.status}`)
}

t.test('a new App Secret stays until confirmed, for its user only', async (t) => {
  const server = await startTestServer(t)
  const [alice, bob] = [await createUser(server), await createUser(server)]
  const jar = new CookieJar()
  await logIn(server, jar, alice)
  const consolePage = async () => (await jar.fetch(`${server.url}/console`)).text()

  const created = await postForm(jar, `${server.url}/console/applications`, { ...hiddenFields(await consolePage()), name: 'Weather station' })
  t.equal(created.status, 201)
  const secret = (await created.text()).match(/id="app-secret">([^<]+)</)![1]!
  t.match(secret, /^[A-Za-z0-9_-]{43}$/)
  t.notMatch(jar.get('capsicum_new_app_secrets'), secret, 'the cookie holds it sealed, not in clear')
  t.match(await consolePage(), secret, 'the next page still shows it')

  const other = new CookieJar()
  other.store(new Response(null, { headers: { 'set-cookie': `capsicum_new_app_secrets=${jar.get('capsicum_new_app_secrets')}` } }))
  await logIn(server, other, bob)
  t.notMatch(await (await other.fetch(`${server.url}/console`)).text(), secret, 'another user with the same cookie does not see it')

  const page = await consolePage()
  const confirmed = await postForm(jar, `${server.url}/console/applications/secret-copied`, { _csrf: hiddenFields(page)._csrf!, client_id: page.match(/id="app-key">([^<]+)</)![1]! })
  t.equal(confirmed.status, 303)
  t.equal(jar.get('capsicum_new_app_secrets'), undefined, 'confirmed: the cookie is cleared')
  t.notMatch(await consolePage(), secret, 'and the secret is gone from the page')

  const forged = await postForm(jar, `${server.url}/console/applications/secret-copied`, { client_id: 'x' })
  t.equal(forged.status, 403, 'the confirm form needs its CSRF token')
})
