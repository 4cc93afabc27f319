/**
 * Re-decoding after a codec fix, over the real server and a real mqtt.js device: LPP
 * things whose readings were decoded with a wrong type table (temperature read without its
 * /10) are decoded again from their kept payloads, through the admin API and the CLI; the
 * corrections reach the latest values, the history, the SSE stream and the what-if, the
 * recorded events stay, and a second run records nothing.
 */
import t from 'tap'
import { registerPayloadCodec } from '../../domain/cayenne/codecs.ts'
import { createLppDecoder, decodeLpp, lppTypeTable } from '../../domain/cayenne/lpp.ts'
import { runCli } from '../helpers/process.ts'
import { connectDevice, waitUntil } from '../helpers/mqtt.ts'
import { startTestServer, tempDataDir, type TestServer } from '../helpers/server.ts'
import { recordedReadingsOf } from '../../domain/telemetry/telemetry.ts'

// The "bug": temperature (103) read as whole degrees instead of tenths.
const buggyTable = lppTypeTable.map((type) => (type.code === 103 ? { ...type, fields: [{ bytes: 2 as const, signed: true, divisor: 1 }] } : type))
const codec = `lpp-buggy-${crypto.randomUUID().slice(0, 8)}`
registerPayloadCodec(codec, createLppDecoder(buggyTable))

/** channel 3: temperature; channel 5: humidity (50 %, which both tables read alike) */
const frames = ['03670110056864', '03670120056864', '036700ff056864'].map((hex) => Buffer.from(hex, 'hex'))
const rightTemperatures = [27.2, 28.8, 25.5]
const wrongTemperatures = [272, 288, 255]

interface Point {
  timestamp: string
  value: number
}

async function pointsOf(server: TestServer, token: string, thingId: string, channel: string): Promise<number[]> {
  const res = await server.api<{ points: Point[] }>('GET', `/v1.1/things/${thingId}/data/${channel}?from=2000-01-01T00:00:00Z`, { token })
  return res.body.points.map((p) => p.value)
}

async function latestOf(server: TestServer, token: string, thingId: string): Promise<Record<string, unknown>> {
  const res = await server.api<{ channel: string; value: unknown }[]>('GET', `/v1.1/things/${thingId}/data`, { token })
  return Object.fromEntries(res.body.map((r) => [r.channel, r.value]))
}

t.test('re-decode after a codec fix', async (t) => {
  const dataDir = tempDataDir(t)
  let server = await startTestServer(t, { dataDir })
  const maker = server.tokenFor('account-maker')
  const batch = await server.api('POST', '/v1.1/things/registry/batch', { token: maker, body: { hardware_ids: ['LORA-RD-1', 'LORA-RD-2'], codec } })
  t.equal(batch.status, 201, batch.text)
  const accountId = `account-${crypto.randomUUID().slice(0, 8)}`
  const user = server.tokenFor(accountId, { userId: `user-${accountId}` })
  const admin = server.tokenFor(accountId, { roles: ['admin'], userId: `admin-${accountId}` })
  const thingIds: string[] = []
  for (const hardwareId of ['LORA-RD-1', 'LORA-RD-2']) {
    const paired = await server.api<{ id: string }>('POST', '/v1.1/things/pair', { token: user, body: { hardware_id: hardwareId } })
    t.equal(paired.status, 200, paired.text)
    thingIds.push(paired.body.id)
  }
  const [first, second] = thingIds as [string, string]
  const credentials = await server.api<{ id: string; clear_secret: string }>('POST', '/v1.1/clients', { token: user })
  for (const thingId of thingIds) {
    const device = await connectDevice(t, server.capsicum.mqttUrl!, { clientId: thingId, username: credentials.body.id, password: credentials.body.clear_secret })
    for (const frame of frames) await device.publish(`v1/${credentials.body.id}/things/${thingId}/data/0`, frame, { qos: 1 })
    await device.end()
  }
  for (const thingId of thingIds) {
    await waitUntil(async () => ((await pointsOf(server, user, thingId, '3')).length === 3 ? true : undefined), 'the wrongly decoded readings')
  }
  t.strictSame(await pointsOf(server, user, first, '3'), wrongTemperatures, 'recorded with the buggy table')
  const rule = {
    triggers: [{ id: first, channel: '3', unit: 'c', geofence: false, conditions: [{ value: '100', operator: 'gt' }] }],
    from: '2000-01-01T00:00:00Z',
    to: '2100-01-01T00:00:00Z',
  }
  const before = await server.api<{ fires: unknown[] }>('POST', '/v1.1/rules/simulate', { token: user, body: rule })
  t.equal(before.body.fires.length, 1, 'the what-if fires on the wrong values')

  // The fix is deployed: the codec of that name decodes right from now on.
  registerPayloadCodec(codec, decodeLpp)

  await t.test('the API endpoint is for admins of the account only', async (t) => {
    t.equal((await server.api('POST', `/v1.1/things/${first}/redecode`, { token: user, body: {} })).status, 403)
    const foreignAdmin = server.tokenFor('account-other', { roles: ['admin'] })
    t.equal((await server.api('POST', `/v1.1/things/${first}/redecode`, { token: foreignAdmin, body: {} })).status, 404)
    const bad = await server.api<{ details: { field: string }[] }>('POST', `/v1.1/things/${first}/redecode`, { token: admin, body: { from: 'yesterday' } })
    t.equal(bad.status, 400)
    t.match(bad.body.details, [{ field: 'from' }])
  })

  await t.test('corrects the readings once, with the current codec; a second run records nothing', async (t) => {
    const res = await server.api<{ corrected: number; examined: number; codec: string }>('POST', `/v1.1/things/${first}/redecode`, { token: admin, body: {} })
    t.equal(res.status, 200, res.text)
    t.match(res.body, { codec, examined: 3, corrected: 3, without_payload: 0, skipped: [] }, 'the three temperatures; the humidity was right')
    const again = await server.api<{ corrected: number }>('POST', `/v1.1/things/${first}/redecode`, { token: admin, body: {} })
    t.match(again.body, { examined: 3, corrected: 0 })
  })

  await t.test('latest values, history, what-if and the SSE stream see the corrections', async (t) => {
    t.match(await latestOf(server, user, first), { 3: 25.5, 5: 50 })
    await waitUntil(async () => ((await pointsOf(server, user, first, '3'))[0] === 27.2 ? true : undefined), 'the corrected history')
    t.strictSame(await pointsOf(server, user, first, '3'), rightTemperatures)
    const avg = await server.api<{ points: Point[] }>('GET', `/v1.1/things/${first}/data/3?from=2000-01-01T00:00:00Z&interval=month&function=max`, { token: user })
    t.equal(Math.max(...avg.body.points.map((p) => p.value ?? -Infinity)), 28.8, 'aggregates too')
    const after = await server.api<{ fires: unknown[] }>('POST', '/v1.1/rules/simulate', { token: user, body: rule })
    t.equal(after.body.fires.length, 0, 'the what-if no longer fires')

    const controller = new AbortController()
    const sse = await fetch(`${server.url}/v1.1/things/${first}/stream?last_event_id=0`, { headers: { authorization: `Bearer ${user}` }, signal: controller.signal })
    const reader = sse.body!.getReader()
    let text = ''
    while ((text.match(/event: correction/g) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value)
    controller.abort()
    t.match(text, /event: correction\ndata: \{"channel":"3","value":27\.2,"type":"temp","unit":"c","timestamp":"[^"]+","corrects":"\d+\.\d+"\}/, 'names the corrected reading by its id, `r.i`')
  })

  await t.test('the thing\'s history shows the recorded readings and their corrections', async (t) => {
    const res = await server.api<{ events: { type: string; revision: number; data: Record<string, unknown> }[] }>(
      'GET',
      `/v1.1/things/${first}/history?type=SensorReadingsRecorded,SensorReadingCorrected&limit=100`,
      { token: user },
    )
    const recorded = res.body.events.filter((e) => e.type === 'SensorReadingsRecorded')
    const readings = recorded.flatMap((e) => recordedReadingsOf(e).map((reading, index) => ({ revision: e.revision, index, reading })))
    const corrected = res.body.events.filter((e) => e.type === 'SensorReadingCorrected')
    t.equal(readings.length, 6, 'the recorded readings, unchanged')
    t.strictSame(readings.filter((r) => r.reading.channel === '3').map((r) => r.reading.value), wrongTemperatures)
    t.equal(corrected.length, 3)
    for (const correction of corrected) {
      const corrects = correction.data.corrects as { revision: number; index: number; key: string }
      const original = readings.find((r) => r.revision === corrects.revision && r.index === corrects.index)
      t.ok(original, 'points at the reading it corrects, by revision and index')
      t.equal(original!.reading.key, corrects.key, 'and by key')
      t.match(correction.data, { previous: { value: original!.reading.value }, codec })
    }
    t.ok(readings[0]!.reading.raw, 'the raw payload is kept on the record\'s first reading')
  })

  await t.test('capsicum redecode (server stopped) with a named codec; the server sees it at its next start', async (t) => {
    await server.close()
    const env = { DATA_DIR: dataDir }
    const run = await runCli(['redecode', '--thing', second, '--codec', 'lpp'], env)
    t.equal(run.code, 0, run.stderr)
    t.match(JSON.parse(run.stdout), { codec: 'lpp', examined: 3, corrected: 3 })
    const again = await runCli(['redecode', '--thing', second, '--codec', 'lpp'], env)
    t.match(JSON.parse(again.stdout), { corrected: 0 })
    const usage = await runCli(['redecode'], env)
    t.equal(usage.code, 64)
    const replay = await runCli(['replay', '--stream', `telemetry-${second}`, '--json'], env)
    const replayed = replay.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; data: unknown })
    t.equal(replayed.flatMap((event) => recordedReadingsOf(event)).length, 6, 'every recorded reading')
    t.equal(replayed.filter((event) => event.type === 'SensorReadingCorrected').length, 3, 'replay shows both')

    server = await startTestServer(t, { dataDir })
    t.match(await latestOf(server, user, second), { 3: 25.5 })
    await waitUntil(async () => ((await pointsOf(server, user, second, '3'))[0] === 27.2 ? true : undefined), 'the corrected history after the restart')
    t.strictSame(await pointsOf(server, user, second, '3'), rightTemperatures)
  })
})
