/**
 * The tamper-evident audit export over real HTTP: what it holds, who may read it, and that
 * `capsicum audit verify` catches every kind of tampering, naming the first line that fails.
 */
import { generateKeyPairSync } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { verifyAuditExport, type Jwks } from '../../commands/audit/chain.ts'
import { runCli } from '../helpers/process.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'

interface Line {
  type: string
  seq?: number
  hash?: string
  prev_hash?: string
  event?: { type: string; stream: string; data: Record<string, unknown>; metadata: { account_id: string | null } }
  jws?: string
}

const from = '2000-01-01T00:00:00Z'
const to = '2100-01-01T00:00:00Z'

async function exportOf(server: TestServer, token: string, query: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const res = await server.api<string>('GET', `/v1.1/audit/export?${query}`, { token })
  return { status: res.status, contentType: res.headers.get('content-type'), text: res.text }
}

const linesOf = (text: string): string[] => text.split('\n').filter((line) => line !== '')

t.test('audit export', async (t) => {
  const server = await startTestServer(t)
  const alice = await deviceAccount(server, { things: 2 })
  const bob = await deviceAccount(server, { things: 1 })
  for (const name of ['Renamed', 'Renamed again']) {
    const renamed = await server.api('PUT', `/v1.1/things/${alice.thingIds[0]}`, { token: alice.token, body: { name } })
    t.equal(renamed.status, 200)
  }
  const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as Jwks

  const full = await exportOf(server, alice.token, `from=${from}&to=${to}`)
  t.equal(full.status, 200, full.text)
  t.match(full.contentType, /^application\/x-ndjson/)
  const lines = linesOf(full.text)
  const parsed = lines.map((line) => JSON.parse(line) as Line)

  await t.test('a header, the account\'s events with metadata and hashes, a signed head', async (t) => {
    t.match(parsed[0], { type: 'header', format: 'capsicum-audit-export/1', account_id: alice.accountId, thing_id: null, prev_hash: '0'.repeat(64) })
    const events = parsed.slice(1, -1)
    t.ok(events.length >= 4, 'the credentials, two things and the update')
    t.ok(events.every((line, i) => line.type === 'event' && line.seq === i + 1 && line.prev_hash === parsed[i]!.hash))
    t.ok(events.every((line) => line.event!.metadata.account_id === alice.accountId), 'only the account\'s own events')
    t.ok(events.some((line) => line.event!.type === 'ThingUpdated'))
    t.notOk(events.some((line) => line.event!.data.thingId === bob.thingIds[0]), 'nothing of another account')
    const credentials = events.find((line) => line.event!.type === 'MqttClientCreated')
    t.ok(credentials, 'the MQTT credentials are in it')
    const sealed = Object.entries(credentials!.event!.data).filter(([name]) => /secret/i.test(name))
    t.ok(sealed.length > 0 && sealed.every(([, value]) => value === '[redacted]'), 'secrets masked as in the history')
    t.equal(parsed.at(-1)!.type, 'signature')
    const verdict = await verifyAuditExport(lines, jwks)
    t.match(verdict, { ok: true, count: events.length, claims: { account_id: alice.accountId, from: '2000-01-01T00:00:00.000Z' } })
  })

  await t.test('thing_id: only the events about that thing', async (t) => {
    const one = await exportOf(server, alice.token, `from=${from}&to=${to}&thing_id=${alice.thingIds[0]}`)
    t.equal(one.status, 200)
    const events = linesOf(one.text).map((line) => JSON.parse(line) as Line).filter((line) => line.type === 'event')
    t.strictSame([...new Set(events.map((line) => line.event!.stream))], [`thing-${alice.thingIds[0]}`])
    t.strictSame(events.map((line) => line.event!.type), ['ThingCreated', 'ThingUpdated', 'ThingUpdated'])
    t.ok((await verifyAuditExport(linesOf(one.text), jwks)).ok)
  })

  await t.test('the time range: events in [from, to)', async (t) => {
    const past = await exportOf(server, alice.token, 'from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z')
    t.equal(linesOf(past.text).length, 2, 'a header and the signature of an empty chain')
    t.match(await verifyAuditExport(linesOf(past.text), jwks), { ok: true, count: 0 })
  })

  await t.test('who may export', async (t) => {
    const foreign = await exportOf(server, alice.token, `from=${from}&to=${to}&account_id=${bob.accountId}`)
    t.equal(foreign.status, 403, 'another account\'s token naming it')
    const management = server.tokenFor('ops', { roles: ['management'] })
    const named = await exportOf(server, management, `from=${from}&to=${to}&account_id=${bob.accountId}`)
    t.equal(named.status, 200)
    t.match(JSON.parse(linesOf(named.text)[0]!), { account_id: bob.accountId })
    const thing = await exportOf(server, alice.token, `from=${from}&to=${to}&thing_id=${bob.thingIds[0]}`)
    t.equal(thing.status, 404, 'another account\'s thing')
    const anonymous = await server.api('GET', `/v1.1/audit/export?from=${from}&to=${to}`)
    t.equal(anonymous.status, 401)
  })

  await t.test('bad ranges are 400s naming the field', async (t) => {
    const missing = await server.api<{ details: { field: string }[] }>('GET', `/v1.1/audit/export?to=${to}`, { token: alice.token })
    t.equal(missing.status, 400)
    t.match(missing.body.details, [{ field: 'from' }])
    const backwards = await server.api<{ details: { field: string }[] }>('GET', `/v1.1/audit/export?from=${to}&to=${from}`, { token: alice.token })
    t.equal(backwards.status, 400)
    t.match(backwards.body.details, [{ field: 'to' }])
  })

  await t.test('the signed head is no access token', async (t) => {
    const jws = parsed.at(-1)!.jws!
    const res = await server.api('GET', '/v1.1/things', { token: jws })
    t.equal(res.status, 401)
  })

  await t.test('every kind of tampering is caught, naming the first line that fails', async (t) => {
    const count = lines.length
    t.ok(count >= 7, 'enough lines to tamper with')
    const signatureLine = count
    const check = async (variant: string[], line: number, problem: RegExp, what: string) => {
      const verdict = await verifyAuditExport(variant, jwks)
      t.match(verdict, { ok: false, line, problem }, what)
    }
    const flip = (text: string, at: number): string => text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1)
    const middle = 3
    // a byte inside the event's data: the line's hash no longer matches
    const target = lines[middle - 1]!
    const inData = target.indexOf('"data":') + 10
    await check(lines.map((l, i) => (i === middle - 1 ? flip(l, inData) : l)), middle, /altered|not valid JSON/, 'one byte flipped in a middle line')
    await check(lines.map((l, i) => (i === 0 ? flip(l, l.indexOf('"account_id":"') + 15) : l)), 1, /altered/, 'one byte flipped in the header')
    // another base64url character in the signature part, so the JWS still parses and only its signature is wrong
    const inSignature = (l: string): string => {
      const at = l.indexOf('","type"') - 5
      return l.slice(0, at) + (l[at] === 'A' ? 'B' : 'A') + l.slice(at + 1)
    }
    await check(lines.map((l, i) => (i === count - 1 ? inSignature(l) : l)), signatureLine, /does not verify/, 'one byte changed in the signature')
    await check(lines.slice(1), 1, /header/, 'the first line dropped')
    await check(lines.filter((_, i) => i !== middle - 1), middle, /prev_hash/, 'a middle line dropped')
    await check([...lines.slice(0, count - 2), lines[count - 1]!], signatureLine - 1, /count/, 'the last event dropped')
    await check(lines.slice(0, count - 1), signatureLine, /without its signature/, 'the signature line dropped')
    const swapped = [...lines]
    ;[swapped[2], swapped[4]] = [swapped[4]!, swapped[2]!]
    await check(swapped, 3, /prev_hash/, 'two lines reordered')
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
    const verdictWithout = await verifyAuditExport(lines, { keys: [{ ...other, kid: 'another-kid', alg: 'RS256' }] })
    t.match(verdictWithout, { ok: false, line: signatureLine, problem: /does not hold/ }, 'a JWKS without our kid')
    const kid = (jwks.keys[0] as { kid: string }).kid
    const verdictImpostor = await verifyAuditExport(lines, { keys: [{ ...other, kid, alg: 'RS256' }] })
    t.match(verdictImpostor, { ok: false, line: signatureLine, problem: /does not verify/ }, 'another key under our kid')
  })

  await t.test('capsicum audit verify: exit 0 on an intact file, 1 naming the line otherwise', async (t) => {
    const dir = tempDataDir(t)
    const file = join(dir, 'export.ndjson')
    writeFileSync(file, full.text)
    const ok = await runCli(['audit', 'verify', file, '--jwks', `${server.url}/.well-known/jwks.json`], { DATA_DIR: dir })
    t.equal(ok.code, 0, ok.stderr)
    t.match(ok.stdout, /OK: \d+ event\(s\) of account .*chain intact, head signed by key/)
    const tampered = join(dir, 'tampered.ndjson')
    writeFileSync(tampered, lines.filter((_, i) => i !== 2).join('\n') + '\n')
    const jwksFile = join(dir, 'jwks.json')
    writeFileSync(jwksFile, JSON.stringify(jwks))
    const bad = await runCli(['audit', 'verify', tampered, '--jwks', jwksFile], { DATA_DIR: dir })
    t.equal(bad.code, 1)
    t.match(bad.stderr, /tampered\.ndjson: line 3: prev_hash does not match/)
    const usage = await runCli(['audit', 'verify'], { DATA_DIR: dir })
    t.equal(usage.code, 64)
  })
})
