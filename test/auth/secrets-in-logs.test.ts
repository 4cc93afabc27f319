/**
 * Issue 15.2: every secret-bearing request, malformed in every way the body parsers
 * refuse, gets a 4xx naming the limit or the fault (never a 500), and the server's log,
 * captured at trace level, holds none of the secrets it carried: not the body, not the
 * Authorization or Cookie header.
 */
import { connect } from 'node:net'
import { gzipSync } from 'node:zlib'
import { pino } from 'pino'
import t from 'tap'
import { startTestServer } from '../helpers/server.ts'

const marker = 'S3CRET'
let serial = 0
/** A secret that appears nowhere but in what the test sends. */
const newSecret = (what: string): string => `${marker}-${what}-${++serial}-${crypto.randomUUID().slice(0, 8)}`

interface Malformed {
  readonly name: string
  readonly headers: Record<string, string>
  readonly body: string | Buffer
  readonly expected: { status: number; error: RegExp }
}

/** The ways the parsers refuse a body carrying `fields`. */
function malformations(fields: Record<string, string>, bodyLimitBytes: number): Malformed[] {
  const form = new URLSearchParams(fields).toString()
  const json = JSON.stringify(fields)
  const form1001 = `${form}&${Array.from({ length: 1001 }, (_, i) => `x${i}=1`).join('&')}`
  return [
    { name: 'a form with more than 1,000 fields', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form1001, expected: { status: 413, error: /too_many_fields/ } },
    { name: 'a form over the byte limit', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `${form}&pad=${'a'.repeat(bodyLimitBytes)}`, expected: { status: 413, error: /payload_too_large/ } },
    { name: 'JSON over the byte limit', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...fields, pad: 'a'.repeat(bodyLimitBytes) }), expected: { status: 413, error: /payload_too_large/ } },
    { name: 'broken JSON', headers: { 'content-type': 'application/json' }, body: `${json.slice(0, -1)},}`, expected: { status: 400, error: /malformed_body/ } },
    { name: 'JSON with typographic quotes', headers: { 'content-type': 'application/json' }, body: json.replace(/"/g, (_, i: number) => (i % 2 ? '\u201D' : '\u201C')), expected: { status: 400, error: /malformed_body/ } },
    { name: 'JSON that is a bare string (strict mode)', headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.values(fields).join(' ')), expected: { status: 400, error: /malformed_body/ } },
    { name: 'an unknown charset', headers: { 'content-type': 'application/json; charset=x-unknown-42' }, body: json, expected: { status: 400, error: /malformed_body/ } },
    { name: 'an unsupported content encoding', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'x-squash' }, body: form, expected: { status: 400, error: /malformed_body/ } },
    { name: 'a gzip body that is not gzip', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }, body: form, expected: { status: 400, error: /malformed_body/ } },
    { name: 'gzip of broken JSON', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(`${json},`), expected: { status: 400, error: /malformed_body/ } },
  ]
}

/** A request whose body ends before its Content-Length (raw socket: fetch would not send it). */
function truncated(url: string, path: string, headers: Record<string, string>, body: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const head = [`POST ${path} HTTP/1.1`, `Host: ${hostname}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body) + 500}`, '', '']
      socket.end(head.join('\r\n') + body)
    })
    let answer = ''
    socket.on('data', (chunk) => (answer += chunk.toString()))
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
  })
}

t.test('malformed secret-bearing requests: a 4xx naming the fault, and no secret in the log', async (t) => {
  const lines: string[] = []
  const logger = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) })
  const bodyLimitBytes = 8 * 1024
  const server = await startTestServer(t, { logger, env: { BODY_LIMIT: '8kb' } })
  const thingId = crypto.randomUUID()
  const userId = crypto.randomUUID()

  type Auth = 'bearer' | 'basic' | 'none'
  const requests: { path: string; method?: string; auth: Auth; fields: (secret: string) => Record<string, string> }[] = [
    { path: '/oauth/token', auth: 'basic', fields: (s) => ({ grant_type: 'password', email: 'a@example.com', password: s, client_id: 'app' }) },
    { path: '/oauth/token', auth: 'none', fields: (s) => ({ grant_type: 'refresh_token', refresh_token: s, client_id: 'app' }) },
    { path: '/oauth/token', auth: 'none', fields: (s) => ({ grant_type: 'client_credentials', client_id: 'app', client_secret: s }) },
    { path: '/oauth/token', auth: 'basic', fields: (s) => ({ grant_type: 'authorization_code', code: s, code_verifier: `${s}-verifier`, redirect_uri: 'https://x.example/cb' }) },
    { path: '/oauth/revoke', auth: 'basic', fields: (s) => ({ token: s }) },
    { path: '/login', auth: 'none', fields: (s) => ({ _csrf: `${s}-csrf`, email: 'a@example.com', password: s }) },
    { path: '/signup', auth: 'none', fields: (s) => ({ _csrf: `${s}-csrf`, email: 'a@example.com', password: s, first_name: 'A', last_name: 'B' }) },
    { path: '/forgot-password', auth: 'none', fields: (s) => ({ _csrf: `${s}-csrf`, email: `${s}@example.com` }) },
    { path: '/reset-password', auth: 'none', fields: (s) => ({ _csrf: `${s}-csrf`, token: s, password: `${s}-new` }) },
    { path: '/password/forgot', auth: 'bearer', fields: (s) => ({ email: `${s}@example.com` }) },
    { path: '/password/reset', auth: 'none', fields: (s) => ({ token: s, password: `${s}-new` }) },
    { path: '/users', auth: 'bearer', fields: (s) => ({ email: 'a@example.com', password: s, first_name: 'A', last_name: 'B' }) },
    { path: `/users/${userId}`, method: 'PUT', auth: 'bearer', fields: (s) => ({ first_name: s, password: s }) },
    { path: '/applications', auth: 'bearer', fields: (s) => ({ name: s, description: s }) },
    { path: '/console/applications', auth: 'none', fields: (s) => ({ _csrf: s, name: s }) },
    { path: '/v1.1/clients', auth: 'bearer', fields: (s) => ({ name: s }) },
    { path: `/v1.1/things/${thingId}/data`, auth: 'basic', fields: (s) => ({ channel: '1', value: s }) },
    { path: `/things/${thingId}/data`, auth: 'basic', fields: (s) => ({ channel: '1', value: s }) },
  ]

  const secrets: string[] = []
  for (const request of requests) {
    for (const malformed of malformations({}, bodyLimitBytes)) {
      const secret = newSecret('body')
      const headerSecret = newSecret('header')
      const cookieSecret = newSecret('cookie')
      secrets.push(secret, headerSecret, cookieSecret)
      const { headers, body, expected } = malformations(request.fields(secret), bodyLimitBytes).find((m) => m.name === malformed.name)!
      const auth: Record<string, string> =
        request.auth === 'bearer' ? { authorization: `Bearer ${headerSecret}` } : request.auth === 'basic' ? { authorization: `Basic ${Buffer.from(`device:${headerSecret}`).toString('base64')}` } : {}
      const response = await fetch(`${server.url}${request.path}`, {
        method: request.method ?? 'POST',
        headers: { ...headers, ...auth, cookie: `capsicum_sso=${cookieSecret}; capsicum_csrf=${cookieSecret}` },
        body,
      })
      const text = await response.text()
      const what = `${request.method ?? 'POST'} ${request.path}, ${malformed.name}`
      t.equal(response.status, expected.status, `${what}: ${expected.status}`)
      t.match(text, expected.error, `${what}: says why`)
      t.notMatch(text, new RegExp(marker), `${what}: the answer does not echo the body`)
      const parsed = JSON.parse(text) as { details: { field: string }[] }
      t.equal(parsed.details[0]?.field, 'body', `${what}: names the body`)
    }
    const secret = newSecret('truncated')
    secrets.push(secret)
    const answer = await truncated(server.url, request.path, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(request.fields(secret)).toString())
    t.notMatch(answer, /^HTTP\/1\.1 5/, `${request.path}, a body shorter than Content-Length: no 500`)
  }

  // The same requests well-formed (wrong secrets, no CSRF cookie, bad tokens): refused by the handlers, and logged as requests only.
  for (const request of requests) {
    const secret = newSecret('wellformed')
    const headerSecret = newSecret('wellformed-header')
    secrets.push(secret, headerSecret)
    for (const json of [false, true]) {
      const fields = request.fields(secret)
      const response = await fetch(`${server.url}${request.path}?token=${secret}&code=${secret}`, {
        method: request.method ?? 'POST',
        headers: {
          'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
          authorization: request.auth === 'basic' ? `Basic ${Buffer.from(`device:${headerSecret}`).toString('base64')}` : `Bearer ${headerSecret}`,
          cookie: `capsicum_sso=${headerSecret}`,
        },
        body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
      })
      t.ok(response.status >= 400 && response.status < 500, `${request.path} well-formed (${json ? 'JSON' : 'form'}): refused with ${response.status}, not a 500`)
      t.notMatch(await response.text(), new RegExp(marker), `${request.path}: the answer does not echo a secret`)
    }
  }

  const thousand = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&') })
  t.equal(thousand.status, 401, 'exactly 1,000 fields still parse: the request is refused for what it says (no client), not for its size')

  const log = lines.join('')
  t.ok(lines.length > requests.length, `the log was captured (${lines.length} lines)`)
  const leaked = secrets.filter((secret) => log.includes(secret))
  t.strictSame(leaked, [], 'no secret reached the log')
  t.notMatch(log, new RegExp(marker), 'nothing the requests carried reached the log')
  t.notMatch(log, /"body":/, 'no log line carries a body')
})
