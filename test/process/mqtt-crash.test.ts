/**
 * A QoS 1 PUBACK means the reading is durable: devices publish thousands of readings
 * concurrently, the server is SIGKILLed once N of them were acknowledged, and every
 * acknowledged reading must be on the telemetry stream in the data directory.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import mqtt from 'mqtt'
import t from 'tap'
import { loadConfig } from '../../adapters/config.ts'
import { TokenService } from '../../adapters/tokens.ts'
import type { TelemetryMessage } from '../../domain/telemetry/telemetry-message.ts'
import { startServerProcess } from '../helpers/process.ts'
import { tempDataDir } from '../helpers/server.ts'

async function post<B>(url: string, token: string, body?: unknown): Promise<B> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (res.status >= 300) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as B
}

t.test('SIGKILL while devices publish QoS 1 readings loses no acknowledged reading', async (t) => {
  const dataDir = tempDataDir(t)
  const env = { DATA_DIR: dataDir }
  const token = TokenService.load(loadConfig(env)).sign({ sub: 'crash', account_id: 'account-mqtt-crash', roles: [] })
  const server = await startServerProcess(env)
  t.teardown(() => server.child.kill('SIGKILL'))
  const listening = server.logLines.map((line) => JSON.parse(line) as { msg?: string; mqttUrl?: string }).find((l) => l.msg === 'Capsicum is listening')
  const mqttUrl = listening?.mqttUrl
  t.match(mqttUrl, /^mqtt:\/\//, 'the listening line names the MQTT URL')

  const credentials = await post<{ id: string; clear_secret: string }>(`${server.url}/v1.1/clients`, token)
  const devices = 8
  const window = 200
  const killAfter = 3000
  const thingIds: string[] = []
  for (let i = 0; i < devices; i++) thingIds.push((await post<{ id: string }>(`${server.url}/v1.1/things`, token, { name: `crash ${i}` })).id)

  const acknowledged = new Set<number>()
  let sent = 0
  let killed = false
  const clients = await Promise.all(
    thingIds.map((clientId) =>
      mqtt.connectAsync(mqttUrl!, { clientId, username: credentials.id, password: credentials.clear_secret, reconnectPeriod: 0, protocolVersion: 4 }),
    ),
  )
  t.teardown(() => Promise.all(clients.map((c) => c.endAsync(true))))

  const device = async (d: number): Promise<void> => {
    const client = clients[d]!
    const topic = `v1/${credentials.id}/things/${thingIds[d]}/data/1`
    let next = 0
    const lane = async (): Promise<void> => {
      while (!killed) {
        const value = d * 1_000_000 + next++
        sent++
        try {
          await client.publishAsync(topic, String(value), { qos: 1 })
        } catch (error) {
          if (killed) return // the server died with it in flight: never acknowledged
          throw error
        }
        acknowledged.add(value)
        if (acknowledged.size >= killAfter && !killed) {
          killed = true
          server.child.kill('SIGKILL')
        }
      }
    }
    await Promise.all(Array.from({ length: window / devices }, lane))
  }
  const started = Date.now()
  const publishing = Promise.all(thingIds.map((_, d) => device(d)))
  const exit = await server.exited
  t.comment(`killed after ${Date.now() - started} ms`)
  t.equal(exit.signal, 'SIGKILL', 'the server was killed, not stopped')
  for (const client of clients) client.end(true)
  await publishing
  t.ok(acknowledged.size >= killAfter, `${acknowledged.size} readings acknowledged of ${sent} sent`)

  const db = new Database(join(dataDir, 'capsicum.db'))
  t.teardown(() => db.close())
  const stored = new Set<number>()
  for (const row of db.prepare<[], { value: string }>('SELECT value FROM telemetry').iterate()) {
    const message = JSON.parse(row.value) as TelemetryMessage
    if (message.kind !== 'readings') continue
    for (const reading of message.readings) if (typeof reading.value === 'number') stored.add(reading.value)
  }
  const missing = [...acknowledged].filter((value) => !stored.has(value))
  t.strictSame(missing.slice(0, 20), [], `every one of the ${acknowledged.size} acknowledged readings is on the stream (${stored.size} stored)`)
  t.comment(`mqtt crash test: ${sent} sent, ${acknowledged.size} acknowledged, ${stored.size} stored`)
})
