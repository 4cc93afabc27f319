/**
 * Registry benchmark (`npm run bench:registry`), measured in one run:
 *
 *   1  provisioning: POST /v1.1/things/registry/batch with 500 hardware ids, end to end
 *      over HTTP (validation, uniqueness check, one append of 501 events, read-your-writes
 *      until the read models hold all 500 devices). BENCH_BATCHES runs, median shown.
 *   2  GET /v1.1/things/{id} with a JWT (RS256 verification, tenancy check, read model,
 *      children) under autocannon, beside a bare express hello-world measured the same
 *      way in the same run; printed as a ratio. Target ≥ 0.7×. Metrics and rate limits off,
 *      as before they existed.
 *   3  the same GET with metrics and rate limits on (limits far above the load, so each
 *      request is counted but none refused) vs off, in alternating rounds; printed as a
 *      ratio. Target ≥ 0.95×. BENCH_OPS_ROUNDS rounds of each (default 2), BENCH_OPS=skip
 *      leaves it out.
 *
 * Each server runs in its own child process (this file, with `serve-capsicum` or
 * `serve-hello`), so the load generator does not share their event loop.
 * Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50),
 * BENCH_BATCHES (default 5); BENCH_PROFILE_DIR writes a CPU profile of each server there. A benchmark, not a test: it exits 0 whether or not the
 * target is met (1 only if it cannot run).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import express from 'express'
import { startCapsicum } from '../adapters/capsicum.ts'
import { loadConfig } from '../adapters/config.ts'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const batches = Number(process.env.BENCH_BATCHES ?? 5)

const opsRounds = Number(process.env.BENCH_OPS_ROUNDS ?? 2)

/** The child's metrics and rate limits (BENCH_OPS=on|off); on, the limits sit far above any load here. */
const opsEnv = (ops: 'on' | 'off'): Record<string, string> =>
  ops === 'on'
    ? { METRICS: 'on', RATE_LIMITS: 'on', RATE_LIMIT_API_PER_TOKEN: '1000000000/1m', RATE_LIMIT_API_PER_ACCOUNT: '1000000000/1m' }
    : { METRICS: 'off', RATE_LIMITS: 'off' }

async function serveCapsicum(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'capsicum-bench-'))
  const ops = process.env.BENCH_OPS === 'on' ? 'on' : 'off'
  const capsicum = await startCapsicum(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...opsEnv(ops) }),
  )
  const token = capsicum.tokens.sign({ sub: 'bench-user', account_id: 'account-bench', roles: [], user_id: 'bench-user' })
  process.stdout.write(`${JSON.stringify({ url: capsicum.url, token })}\n`)
  process.once('SIGTERM', () => {
    void capsicum.close().then(() => {
      rmSync(dataDir, { recursive: true, force: true })
      process.exit(0)
    })
  })
}

async function serveHello(): Promise<void> {
  const app = express()
  app.get('/', (_req, res) => {
    res.send('Hello World!')
  })
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address()
    const port = typeof address === 'object' && address ? address.port : 0
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`)
  })
  process.once('SIGTERM', () => server.close(() => process.exit(0)))
}

interface Child {
  readonly child: ChildProcess
  readonly url: string
  readonly token?: string
  stop(): Promise<void>
}

function startChild(role: 'serve-capsicum' | 'serve-hello', ops: 'on' | 'off' = 'off'): Promise<Child> {
  const profile = process.env.BENCH_PROFILE_DIR ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), role], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_OPS: ops },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const info = JSON.parse(line) as { url: string; token?: string }
      resolve({
        child,
        ...info,
        stop: async () => {
          child.kill('SIGTERM')
          await exited
        },
      })
    })
    void exited.then(() => reject(new Error(`${role} exited before listening`)))
  })
}

async function api<T>(base: Child, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${base.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as T }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function load(url: string, headers: Record<string, string>, duration: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration, headers, pipelining: 1 })
}

async function main(): Promise<void> {
  process.stdout.write(
    `registry benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n` +
      `autocannon: ${connections} connections, ${seconds} s per measurement after a 2 s warm-up\n\n`,
  )
  const capsicum = await startChild('serve-capsicum')
  try {
    // 1. Provisioning 500 devices in one batch.
    const times: number[] = []
    for (let b = 0; b < batches; b++) {
      const hardwareIds = Array.from({ length: 500 }, (_, i) => `BENCH-${b}-${String(i).padStart(4, '0')}`)
      const started = process.hrtime.bigint()
      const res = await api<unknown[]>(capsicum, 'POST', '/v1.1/things/registry/batch', { hardware_ids: hardwareIds, count: 500 })
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (res.status !== 201 || res.body.length !== 500) throw new Error(`batch answered ${res.status}`)
      times.push(ms)
    }
    process.stdout.write(
      `1  provision 500 devices (POST /v1.1/things/registry/batch): median ${median(times).toFixed(1)} ms ` +
        `(${(500 / (median(times) / 1000)).toFixed(0)} devices/s; runs: ${times.map((t) => t.toFixed(1)).join(', ')} ms)\n`,
    )

    // 2. A paired thing with two children, read with a JWT.
    const paired = await api<{ id: string }>(capsicum, 'POST', '/v1.1/things/pair', { hardware_id: 'BENCH-0-0000', name: 'Bench gateway' })
    if (paired.status !== 200) throw new Error(`pair answered ${paired.status}`)
    await api(capsicum, 'POST', '/v1.1/clients')
    for (const name of ['child 1', 'child 2']) {
      const child = await api(capsicum, 'POST', '/v1.1/things', { name, parent_id: paired.body.id })
      if (child.status !== 201) throw new Error(`child answered ${child.status}`)
    }
    const thingUrl = `${capsicum.url}/v1.1/things/${paired.body.id}`
    const check = await api<{ children: unknown[] }>(capsicum, 'GET', `/v1.1/things/${paired.body.id}`)
    if (check.status !== 200 || check.body.children.length !== 2) throw new Error('GET thing is not as expected')
    const auth = { authorization: `Bearer ${capsicum.token}` }
    await load(thingUrl, auth, 2)
    const ours = await load(thingUrl, auth, seconds)
    await capsicum.stop()
    const opsRuns = process.env.BENCH_OPS === 'skip' ? undefined : await withAndWithoutOps()

    const hello = await startChild('serve-hello')
    await load(hello.url, {}, 2)
    const bare = await load(hello.url, {}, seconds)
    await hello.stop()

    const row = (name: string, r: autocannon.Result): string =>
      `   ${name.padEnd(44)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  ` +
      `(${r.non2xx} non-2xx, ${r.errors} errors)\n`
    process.stdout.write(`2  GET /v1.1/things/{id} with JWT auth vs bare express\n`)
    process.stdout.write(row('GET /v1.1/things/{id} (JWT, 2 children)', ours))
    process.stdout.write(row('express hello-world', bare))
    const ratio = ours.requests.average / bare.requests.average
    process.stdout.write(`   ratio ${ratio.toFixed(2)}× (target ≥ 0.7×: ${ratio >= 0.7 ? 'met' : 'NOT met'})\n`)
    if (opsRuns) {
      const mean = (rs: autocannon.Result[]): number => rs.reduce((sum, r) => sum + r.requests.average, 0) / rs.length
      process.stdout.write(`3  GET /v1.1/things/{id} with metrics and rate limits on vs off (${opsRuns.on.length} alternating rounds each)\n`)
      opsRuns.off.forEach((r, i) => process.stdout.write(row(`off, round ${i + 1}`, r)))
      opsRuns.on.forEach((r, i) => process.stdout.write(row(`on, round ${i + 1}`, r)))
      const opsRatio = mean(opsRuns.on) / mean(opsRuns.off)
      process.stdout.write(`   ratio ${opsRatio.toFixed(3)}× (mean on / mean off; target ≥ 0.95×: ${opsRatio >= 0.95 ? 'met' : 'NOT met'})\n`)
    }
  } catch (error) {
    await capsicum.stop()
    throw error
  }
}

/** One GET of a paired thing per server, measured in rounds alternating off and on (the machine's load drifts). */
async function withAndWithoutOps(): Promise<{ on: autocannon.Result[]; off: autocannon.Result[] }> {
  const runs = { on: [] as autocannon.Result[], off: [] as autocannon.Result[] }
  for (let round = 0; round < opsRounds; round++) {
    for (const ops of ['off', 'on'] as const) {
      const server = await startChild('serve-capsicum', ops)
      try {
        await api(server, 'POST', '/v1.1/clients')
        const thing = await api<{ id: string }>(server, 'POST', '/v1.1/things', { name: 'Bench thing' })
        const url = `${server.url}/v1.1/things/${thing.body.id}`
        const auth = { authorization: `Bearer ${server.token}` }
        await load(url, auth, 2)
        const result = await load(url, auth, seconds)
        if (result.non2xx > 0) throw new Error(`${result.non2xx} answers were not 2xx with metrics and limits ${ops}`)
        runs[ops].push(result)
      } finally {
        await server.stop()
      }
    }
  }
  return runs
}

const role = process.argv[2]
const run = role === 'serve-capsicum' ? serveCapsicum : role === 'serve-hello' ? serveHello : main
run().catch((error: unknown) => {
  process.stderr.write(`bench:registry failed: ${(error as Error).message}\n`)
  process.exit(1)
})
