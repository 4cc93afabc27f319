/**
 * Ingest benchmark (`npm run bench:ingest`), Capsicum against Mosquitto in one run:
 *
 *   1  N devices publish `temp,c=…` readings on their `data/1` topic, at QoS 1 and at
 *      QoS 0, to Capsicum (every reading durable on the telemetry stream before its PUBACK
 *      and before it is routed) and to a Mosquitto on this machine (a throwaway instance on
 *      a free port, or the one at BENCH_MOSQUITTO=host:port). A wildcard subscriber counts
 *      what arrives: the rate is readings per second from the first publish to the last
 *      delivery, the loss is what never arrived (must be 0). One round on each broker warms
 *      it up uncounted; then the rounds interleave the brokers; medians and ratios are
 *      printed. For Capsicum it also waits until the telemetry processor has recorded every
 *      reading as an event, and prints that rate.
 *      A third broker runs the same rounds: aedes 1.2 alone, with its default options, no
 *      authentication and nothing persisted, the broker the card binds us to: the targets
 *      are ratios to it (≥ 1.0× at both QoS), Mosquitto stays the long-term anchor. The CPU
 *      time the Capsicum server spent per reading (MQTT, stream, processor, read models,
 *      rules: everything, from the first publish until its read models caught up) is printed
 *      too; it varies less between runs and machines than the rates.
 *      Then QoS 1 rounds on two fresh servers set up alike, alternating, one whose
 *      publishing things carry BENCH_RULE_COUNT (1000) rules: the rate until every reading
 *      is an event with the rules against without (target ≥ 0.9×), twice with the start
 *      order swapped, the pairs pooled.
 *   2  RSS per idle connection: BENCH_IDLE (default 10000) devices connect and stay idle;
 *      the server's resident memory after a GC, minus before, divided by the count.
 *
 * Each server runs in its own process (this file with `serve-capsicum` or `serve-aedes`), so the load
 * generator does not share its event loop. Environment: BENCH_DEVICES (20),
 * BENCH_READINGS (per device per round, 1000), BENCH_ROUNDS (3), BENCH_RULE_PAIRS (pairs of the
 * rules round per start order, 5), BENCH_IDLE (10000);
 * BENCH_PROFILE_DIR writes a CPU profile and an allocation profile of each Capsicum server's
 * rounds there (startProfiling); BENCH_ROLES starts the servers with only those roles
 * (`api,mqtt,projector` measures the endpoint without the processor); BENCH_RULE_COUNT
 * sets the rules of the rules round (0 leaves it out); BENCH_NODE_FLAGS, Node's flags for the
 * Capsicum servers only (default: the `capsicum` command's own); BENCH_IDLE=0 leaves part 2 out.
 * A benchmark, not a test: it exits 0 whether or not the targets are met.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect as connectTcp, createServer, type Socket } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Session } from 'node:inspector/promises'
import type { MqttClient } from 'mqtt'
import type { NodeRole } from '../adapters/scale-out.ts'
import { serverNodeFlags } from './server-flags.ts'

const devices = Number(process.env.BENCH_DEVICES ?? 20)
const readingsPerDevice = Number(process.env.BENCH_READINGS ?? 1000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
/** pairs of the rules round per start order: a pair's ratio swings by a third either way on this VM */
const rulePairs = Number(process.env.BENCH_RULE_PAIRS ?? 5)
const idleConnections = Number(process.env.BENCH_IDLE ?? 10_000)
/** Node's flags for the Capsicum servers: the `capsicum` command's, or BENCH_NODE_FLAGS (space-separated) to try others */
const capsicumNodeFlags = process.env.BENCH_NODE_FLAGS === undefined ? serverNodeFlags : process.env.BENCH_NODE_FLAGS.split(' ').filter((flag) => flag !== '')
const roles = process.env.BENCH_ROLES ? (process.env.BENCH_ROLES.split(',') as NodeRole[]) : undefined
/** without the processor role nothing becomes an event: the rounds do not wait for that */
const processing = roles === undefined || roles.includes('processor')

interface Credentials {
  readonly username: string
  readonly password: string
  readonly thingIds: readonly string[]
}

type ServerRequest =
  | { readonly type: 'things'; readonly count: number }
  | { readonly type: 'rules'; readonly thingIds: readonly string[]; readonly count: number }
  | { readonly type: 'recorded' }
  | { readonly type: 'settle' }
  | { readonly type: 'rss' }

/** the rules of the rules round: this many, spread over the publishing things */
const ruleCount = Number(process.env.BENCH_RULE_COUNT ?? 1000)

/** what `recorded` answers: the readings recorded and offered to the rules so far, and the server's CPU time so far (µs) */
interface Progress {
  readonly readings: number
  readonly cpu: number
  /** minor page faults so far: memory the process touched for the first time (or again, once given back) */
  readonly faults: number
}

/** The Capsicum side, in a child process; answers the parent over IPC. */
async function serveCapsicum(): Promise<void> {
  // Loaded here, not at the top: each process of this file loads only its own broker and
  // client libraries, so stock aedes stays stock (the server makes the `debug` package's
  // loggers quiet, adapters/mqtt/quiet-debug.ts), and nothing loads mqtt-packet before the server.
  const { startCapsicum } = await import('../adapters/capsicum.ts')
  const { loadConfig } = await import('../adapters/config.ts')
  const dataDir = mkdtempSync(join(tmpdir(), 'capsicum-bench-'))
  // The processor hands each batch to this hook after the rules: it counts what is done.
  let readingsDone = 0
  const counter = { name: 'bench-counter', onReadings: async (readings: readonly unknown[]) => void (readingsDone += readings.length) }
  // Rate limits off: the default of 100 publishes/s per connection would cap the devices by design.
  const capsicum = await startCapsicum(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMITS: 'off' }),
    { hooks: [counter], ...(roles ? { roles } : {}) },
  )
  const token = capsicum.tokens.sign({ sub: 'bench-user', account_id: 'account-bench', roles: [], user_id: 'bench-user' })
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${capsicum.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
    return (await res.json()) as T
  }
  const client = await api<{ id: string; clear_secret: string }>('POST', '/v1.1/clients')
  const thingIds: string[] = []
  let profiling: Promise<(() => Promise<void>) | undefined> | undefined
  const send = (message: unknown): void => {
    process.send!(message)
  }
  process.on('message', (request: ServerRequest) => {
    void (async () => {
      if (request.type === 'things') {
        // Things are created over the API, a few at a time, as an operator's script would.
        while (thingIds.length < request.count) {
          const wanted = Math.min(50, request.count - thingIds.length)
          const created = await Promise.all(
            Array.from({ length: wanted }, (_, i) => api<{ id: string }>('POST', '/v1.1/things', { name: `bench ${thingIds.length + i}` })),
          )
          thingIds.push(...created.map((c) => c.id))
        }
        send({ username: client.id, password: client.clear_secret, thingIds: thingIds.slice(0, request.count) })
      } else if (request.type === 'rules') {
        // Rules on the publishers' channel 1, each with a threshold of its own: a few inside
        // the readings' range (20.0 to 29.9), which fire and re-arm as the values cycle, the
        // others above it, which are evaluated on every reading and never fire.
        for (let k = 0; k < request.count; k += 50) {
          await Promise.all(
            Array.from({ length: Math.min(50, request.count - k) }, (_, i) =>
              api('POST', '/v1.1/rules', {
                enabled: true,
                title: `bench rule ${k + i}`,
                triggers: [
                  { id: request.thingIds[(k + i) % request.thingIds.length], channel: '1', unit: 'c', geofence: false, conditions: [{ operator: 'gt', value: String(29.5 + (k + i) / 10) }] },
                ],
              }),
            ),
          )
        }
        send({ created: request.count })
      } else if (request.type === 'settle') {
        // Every follower of the log (read models, history, reactors) caught up with it: the
        // work a round left behind is done before the next round, on this server or another, starts.
        const deadline = performance.now() + 60_000
        while ((await capsicum.followers.reports()).some((report) => report.state === 'running' && (report.lag ?? 0) > 0) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        send({ settled: true })
      } else if (request.type === 'recorded') {
        // asked before each round: the profiles start once the setup is done, and show the rounds alone
        profiling ??= startProfiling()
        await profiling
        const usage = process.resourceUsage()
        send({ readings: readingsDone, cpu: usage.userCPUTime + usage.systemCPUTime, faults: usage.minorPageFault } satisfies Progress)
      } else {
        // Settle first: two full collections, a pause for the allocator to give pages back.
        globalThis.gc?.()
        await new Promise((resolve) => setTimeout(resolve, 500))
        globalThis.gc?.()
        send({ rss: process.memoryUsage().rss })
      }
    })().catch((error: unknown) => send({ error: (error as Error).message }))
  })
  send({ mqttPort: capsicum.mqttPort, pid: process.pid })
  process.once('SIGTERM', () => {
    void (profiling ?? Promise.resolve(undefined)).then((session) => session?.()).then(() => capsicum.close()).then(() => {
      rmSync(dataDir, { recursive: true, force: true })
      process.exit(0)
    })
  })
}

/**
 * With BENCH_PROFILE_DIR: a CPU profile and a sampling heap profile (allocations, the
 * collected ones too: what the garbage collector had to reclaim) of this process, from
 * now until the function it resolves to is called, written there.
 */
async function startProfiling(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_PROFILE_DIR
  if (!dir) return undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    const { profile: heap } = await session.post('HeapProfiler.stopSampling')
    writeFileSync(join(dir, `capsicum-${process.pid}.cpuprofile`), JSON.stringify(profile))
    writeFileSync(join(dir, `capsicum-${process.pid}.heapprofile`), JSON.stringify(heap))
    session.disconnect()
  }
}

/** Stock aedes, default options (but long client ids): the reference for what the broker library does alone. */
async function serveAedes(): Promise<void> {
  const { Aedes } = await import('aedes')
  // thing ids as client ids are longer than MQTT 3.1's 23 characters, aedes' default limit
  const aedes = await Aedes.createBroker({ maxClientsIdLength: 128 })
  const server = createServer((socket) => aedes.handle(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  process.send!({ mqttPort: (server.address() as { port: number }).port, pid: process.pid })
  process.once('SIGTERM', () => aedes.close(() => server.close(() => process.exit(0))))
}

interface ServerChild {
  readonly child: ChildProcess
  readonly mqttPort: number
  ask<T>(request: ServerRequest): Promise<T>
  stop(): Promise<void>
}

function startChild(mode: 'serve-capsicum' | 'serve-aedes'): Promise<ServerChild> {
  const flags = mode === 'serve-capsicum' ? capsicumNodeFlags : []
  const child = spawn(process.execPath, [...flags, '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), mode], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let queue = Promise.resolve<unknown>(undefined)
  const ask = <T>(request: ServerRequest): Promise<T> => {
    const answer = queue.then(
      () =>
        new Promise<T>((resolve, reject) => {
          child.once('message', (message: T & { error?: string }) => (message.error ? reject(new Error(message.error)) : resolve(message)))
          child.send(request)
        }),
    )
    queue = answer.catch(() => undefined)
    return answer
  }
  return new Promise((resolve, reject) => {
    child.once('message', (message: { mqttPort: number }) =>
      resolve({
        child,
        mqttPort: message.mqttPort,
        ask,
        stop: async () => {
          child.kill('SIGTERM')
          await exited
        },
      }),
    )
    void exited.then(() => reject(new Error(`the ${mode} server exited before listening`)))
  })
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A throwaway Mosquitto with no queue limits, so it is measured, not its defaults' drops. */
async function startMosquitto(): Promise<{ port: number; stop(): Promise<void> }> {
  const given = process.env.BENCH_MOSQUITTO
  if (given) return { port: Number(given.split(':')[1] ?? 1883), stop: async () => {} }
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-bench-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`)
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  for (let attempt = 0; ; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connectTcp(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) break
    if (attempt > 100) throw new Error('mosquitto did not start')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function connectDevice(port: number, clientId: string, username?: string, password?: string): Promise<MqttClient> {
  const client = mqttClients!.connect({ host: '127.0.0.1', port, clientId, username, password, protocolVersion: 4, reconnectPeriod: 0, clean: true })
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client))
    client.once('error', reject)
  })
}

interface RoundResult {
  readonly rate: number
  readonly lost: number
  readonly ackRate: number | null
}

/** One round: every device publishes its readings as fast as the broker takes them. */
async function runRound(port: number, credentials: Credentials, qos: 0 | 1): Promise<RoundResult> {
  const { username, password } = credentials
  // Every connection is a thing of the account: the last one listens, the others publish.
  const thingIds = credentials.thingIds.slice(0, -1)
  const total = thingIds.length * readingsPerDevice
  const subscriber = await connectDevice(port, credentials.thingIds.at(-1)!, username, password)
  let received = 0
  let allReceived: () => void = () => {}
  const everything = new Promise<void>((resolve) => (allReceived = resolve))
  subscriber.on('message', () => {
    if (++received === total) allReceived()
  })
  await subscriber.subscribeAsync(`v1/${username}/things/+/data/1`, { qos: 0 })
  const publishers = await Promise.all(thingIds.map((id) => connectDevice(port, id, username, password)))
  const started = performance.now()
  let acked = 0
  let ackedAt = 0
  await Promise.all(
    publishers.map(async (client, d) => {
      const topic = `v1/${username}/things/${thingIds[d]}/data/1`
      const sends: Promise<unknown>[] = []
      for (let i = 0; i < readingsPerDevice; i++) {
        sends.push(
          client.publishAsync(topic, `temp,c=${(20 + (i % 100) / 10).toFixed(1)}`, { qos }).then(() => {
            if (++acked === total) ackedAt = performance.now()
          }),
        )
      }
      await Promise.all(sends)
    }),
  )
  const settled = await Promise.race([everything.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000))])
  const finished = performance.now()
  await Promise.all([...publishers, subscriber].map((c) => c.endAsync()))
  return {
    rate: total / ((finished - started) / 1000),
    lost: settled ? 0 : total - received,
    ackRate: qos === 1 ? total / ((ackedAt - started) / 1000) : null,
  }
}

/**
 * A round on a Capsicum server, then the wait until the processor has turned every
 * reading into an event (SensorReadingsRecorded) and offered it to the rules: that rate.
 * Then the wait until the server's read models caught up (not timed): the server's CPU per
 * reading counts everything the round made it do, and none of it runs into the next round.
 */
async function capsicumRound(server: ServerChild, credentials: Credentials, qos: 0 | 1): Promise<{ round: RoundResult; recordedRate: number; cpuPerReading: number; faultsPerReading: number }> {
  const expected = (credentials.thingIds.length - 1) * readingsPerDevice
  const before = await server.ask<Progress>({ type: 'recorded' })
  const started = performance.now()
  const round = await runRound(server.mqttPort, credentials, qos)
  let now = await server.ask<Progress>({ type: 'recorded' })
  while (processing && now.readings - before.readings < expected && performance.now() - started < 120_000) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    now = await server.ask<Progress>({ type: 'recorded' })
  }
  const recordedRate = expected / ((performance.now() - started) / 1000)
  await server.ask({ type: 'settle' })
  const settled = await server.ask<Progress>({ type: 'recorded' })
  return { round, recordedRate, cpuPerReading: (settled.cpu - before.cpu) / expected, faultsPerReading: (settled.faults - before.faults) / expected }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Raw MQTT 3.1.1 CONNECT, so ten thousand idle devices cost the generator little. */
function connectPacket(clientId: string, username: string, password: string): Buffer {
  const field = (text: string): Buffer => {
    const bytes = Buffer.from(text)
    const length = Buffer.alloc(2)
    length.writeUInt16BE(bytes.length)
    return Buffer.concat([length, bytes])
  }
  const body = Buffer.concat([field('MQTT'), Buffer.from([4, 0b1100_0010, 0, 0]), field(clientId), field(username), field(password)])
  const remaining: number[] = []
  let n = body.length
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 128
    remaining.push(byte)
  } while (n > 0)
  return Buffer.concat([Buffer.from([0x10, ...remaining]), body])
}

function idleDevice(port: number, clientId: string, username: string, password: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1', () => socket.write(connectPacket(clientId, username, password)))
    socket.once('data', (data) => (data[0] === 0x20 && data[3] === 0 ? resolve(socket) : reject(new Error(`CONNACK ${data[3]}`))))
    socket.once('error', reject)
  })
}

/** the MQTT client library, loaded by the load generator (main) only */
let mqttClients: typeof import('mqtt').default | undefined

async function main(): Promise<void> {
  mqttClients = (await import('mqtt')).default
  const mosquittoVersion = spawnSync('mosquitto', ['-h']).stdout.toString().split('\n')[0]?.trim()
  process.stdout.write(
    `ingest benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
      `${devices} devices × ${readingsPerDevice} readings per round, ${rounds} interleaved rounds per QoS; baseline ${mosquittoVersion}\n\n`,
  )
  const capsicum = await startChild('serve-capsicum')
  const aedes = await startChild('serve-aedes')
  const mosquitto = await startMosquitto()
  try {
    // One thing more than publishers: the subscriber connects as a thing too.
    const ours = await capsicum.ask<Credentials>({ type: 'things', count: devices + 1 })
    const theirs: Credentials = { username: 'bench', password: '', thingIds: ours.thingIds }
    // One round on each broker first, not counted: V8 compiles the hot paths during it (a
    // first round cost a Capsicum server about twice the CPU a reading of the next ones).
    await capsicumRound(capsicum, ours, 1)
    await runRound(aedes.mqttPort, theirs, 1)
    await runRound(mosquitto.port, theirs, 1)
    for (const qos of [1, 0] as const) {
      const results = { capsicum: [] as RoundResult[], aedes: [] as RoundResult[], mosquitto: [] as RoundResult[], recordedRate: [] as number[], cpuPerReading: [] as number[], faultsPerReading: [] as number[] }
      for (let round = 0; round < rounds; round++) {
        const ran = await capsicumRound(capsicum, ours, qos)
        results.capsicum.push(ran.round)
        results.recordedRate.push(ran.recordedRate)
        results.cpuPerReading.push(ran.cpuPerReading)
        results.faultsPerReading.push(ran.faultsPerReading)
        results.aedes.push(await runRound(aedes.mqttPort, theirs, qos))
        results.mosquitto.push(await runRound(mosquitto.port, theirs, qos))
      }
      const theirRate = median(results.mosquitto.map((r) => r.rate))
      const line = (name: string, rounds: readonly RoundResult[]): string => {
        const rate = median(rounds.map((r) => r.rate))
        return (
          `   ${name.padEnd(10)} ${rate.toFixed(0).padStart(8)}   ${(rate / theirRate).toFixed(2)}×   rounds ${rounds.map((r) => r.rate.toFixed(0)).join(', ')}` +
          (qos === 1 ? `   PUBACKs ${median(rounds.map((r) => r.ackRate ?? 0)).toFixed(0)}/s` : '') +
          `   lost ${rounds.reduce((sum, r) => sum + r.lost, 0)}\n`
        )
      }
      // The targets (issue 12): stock aedes in the same run, and the server's CPU per reading.
      const ratio = median(results.capsicum.map((r) => r.rate)) / median(results.aedes.map((r) => r.rate))
      const cpu = median(results.cpuPerReading)
      process.stdout.write(`QoS ${qos}: readings/s from first publish to last delivery (median of ${rounds}), and the ratio to Mosquitto\n`)
      process.stdout.write(line('Capsicum', results.capsicum) + line('aedes', results.aedes) + line('Mosquitto', results.mosquitto))
      if (processing) process.stdout.write(`   Capsicum, until every reading is recorded as an event: ${median(results.recordedRate).toFixed(0)}/s\n`)
      process.stdout.write(`   Capsicum server CPU per reading, until the read models caught up: ${cpu.toFixed(1)} µs per round: ${results.cpuPerReading.map((c) => c.toFixed(1)).join(', ')}` +
        (qos === 1 ? ` (target ≤ 30 µs: ${cpu <= 30 ? 'met' : 'NOT met'})` : '') + '\n' +
        `   its minor page faults per reading (memory touched for the first time): ${results.faultsPerReading.map((f) => f.toFixed(2)).join(', ')}\n`)
      process.stdout.write(`   ratio to stock aedes ${ratio.toFixed(2)}× (target ≥ 1.0×: ${ratio >= 1 ? 'met' : 'NOT met'})\n\n`)
    }

    if (processing && ruleCount > 0) await rulesRound()

    await capsicum.stop()
    if (idleConnections > 0) await idleRss()
  } finally {
    await capsicum.stop()
    await aedes.stop()
    await mosquitto.stop()
  }
}

/**
 * The QoS 1 rounds on two fresh servers set up alike, one whose publishing things carry the
 * rules, interleaved: the rate until every reading is an event, with against without. Twice,
 * the start order swapped (the server started second of two costs a few percent more CPU,
 * stop 20's A/A runs), each server warmed by one round first, which of a pair runs first
 * alternating; the pairs of both are pooled. Each round starts once the server before it
 * has caught up (capsicumRound), so neither runs beside the other's leftover work.
 */
async function rulesRound(): Promise<void> {
  const ratios: number[] = []
  const cpu = { with: [] as number[], without: [] as number[] }
  for (const rulesFirst of [true, false]) {
    const servers: ServerChild[] = []
    try {
      const first = await startChild('serve-capsicum')
      servers.push(first)
      const second = await startChild('serve-capsicum')
      servers.push(second)
      const [ruled, plain] = rulesFirst ? [first, second] : [second, first]
      const ruledThings = await ruled.ask<Credentials>({ type: 'things', count: devices + 1 })
      const plainThings = await plain.ask<Credentials>({ type: 'things', count: devices + 1 })
      await ruled.ask({ type: 'rules', thingIds: ruledThings.thingIds.slice(0, -1), count: ruleCount })
      const plainRound = () => capsicumRound(plain, plainThings, 1)
      const ruledRound = () => capsicumRound(ruled, ruledThings, 1)
      // one round each first, not counted
      await ruledRound()
      await plainRound()
      for (let round = 0; round < rulePairs; round++) {
        // which of the pair goes first alternates too
        let withRules, withoutRules
        if (round % 2 === 0) {
          withoutRules = await plainRound()
          withRules = await ruledRound()
        } else {
          withRules = await ruledRound()
          withoutRules = await plainRound()
        }
        ratios.push(withRules.recordedRate / withoutRules.recordedRate)
        cpu.with.push(withRules.cpuPerReading)
        cpu.without.push(withoutRules.cpuPerReading)
      }
    } finally {
      for (const server of servers) await server.stop()
    }
  }
  const ratio = median(ratios)
  process.stdout.write(
    `QoS 1 with ${ruleCount} rules on the publishing things against none, readings/s until every reading is an event ` +
      `(median of ${ratios.length} pairs, two fresh servers twice, the start order swapped, which of a pair runs first alternating)\n` +
      `   pairs ${ratios.map((r) => r.toFixed(2)).join(', ')}\n` +
      `   CPU a reading ${median(cpu.with).toFixed(1)} µs with the rules, ${median(cpu.without).toFixed(1)} µs without; ` +
      `pairs ${cpu.with.map((c, i) => `${c.toFixed(0)}/${cpu.without[i]!.toFixed(0)}`).join(', ')}\n` +
      `   ratio ${ratio.toFixed(3)}× (target ≥ 0.9×: ${ratio >= 0.9 ? 'met' : 'NOT met'})\n\n`,
  )
}

/** Part 2, on a fresh server, so the garbage of the rounds does not blur the figure. */
async function idleRss(): Promise<void> {
  process.stdout.write(`RSS per idle connection, ${idleConnections} devices\n`)
  const quiet = await startChild('serve-capsicum')
  try {
    const idle = await quiet.ask<Credentials>({ type: 'things', count: idleConnections })
    const before = await quiet.ask<{ rss: number }>({ type: 'rss' })
    const sockets: Socket[] = []
    for (let i = 0; i < idle.thingIds.length; i += 200) {
      sockets.push(...(await Promise.all(idle.thingIds.slice(i, i + 200).map((id) => idleDevice(quiet.mqttPort, id, idle.username, idle.password)))))
    }
    const after = await quiet.ask<{ rss: number }>({ type: 'rss' })
    const perConnection = (after.rss - before.rss) / sockets.length
    process.stdout.write(
      `   server RSS ${(before.rss / 2 ** 20).toFixed(1)} MiB → ${(after.rss / 2 ** 20).toFixed(1)} MiB with ${sockets.length} connections: ` +
        `${(perConnection / 1024).toFixed(1)} KB each (target ≤ 8 KB: ${perConnection <= 8 * 1024 ? 'met' : 'NOT met'})\n`,
    )
    for (const socket of sockets) socket.destroy()
  } finally {
    await quiet.stop()
  }
}

const run = process.argv[2] === 'serve-capsicum' ? serveCapsicum : process.argv[2] === 'serve-aedes' ? serveAedes : main
run().catch((error: unknown) => {
  process.stderr.write(`bench:ingest failed: ${(error as Error).message}\n`)
  process.exit(1)
})
