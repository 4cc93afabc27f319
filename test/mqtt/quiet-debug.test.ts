/**
 * The `debug` package's loggers cost nothing when off (adapters/mqtt/quiet-debug.ts), in a
 * process that loads the server the way the `capsicum` command does; a namespace DEBUG
 * enables at start still logs. Each case runs in a process of its own: what a process loaded
 * first decides which loggers are quiet.
 */
import { spawnSync } from 'node:child_process'
import t from 'tap'

const root = new URL('../..', import.meta.url).pathname

/** runs `script` as a module in a fresh node process with DEBUG as given; its output and the JSON it printed */
function inProcess(script: string, debug: string): { seen: Record<string, unknown>; stderr: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, DEBUG: debug } })
  if (run.status !== 0) throw new Error(`the script failed: ${run.stderr.toString()}`)
  return { seen: JSON.parse(run.stdout.toString()) as Record<string, unknown>, stderr: run.stderr.toString() }
}

const probe = `
  import { createRequire } from 'node:module'
  await import('./adapters/capsicum.ts')
  const { packetLoggersAreQuiet } = await import('./adapters/mqtt/quiet-debug.ts')
  const require = createRequire(import.meta.url)
  const createDebug = createRequire(require.resolve('mqtt-packet'))('debug')
  const off = createDebug('mqtt-packet:parser')
  const on = createDebug('capsicum-test:on')
  on('logged %d', 42)
  console.log(JSON.stringify({ quiet: packetLoggersAreQuiet(), offParameters: off.length, offEnabled: off.enabled, offCall: off('nothing %s', 'x') ?? null, extended: off.extend('more').enabled, onEnabled: on.enabled, onNamespace: on.namespace }))
`

t.test('with the server loaded, mqtt-packet and every later logger that is off is a call that does nothing', async (t) => {
  const { seen, stderr } = inProcess(probe, '')
  t.strictSame(seen, { quiet: true, offParameters: 0, offEnabled: false, offCall: null, extended: false, onEnabled: false, onNamespace: 'capsicum-test:on' })
  t.notMatch(stderr, /logged/)
})

t.test('a namespace DEBUG enables at start gets the real logger, and logs', async (t) => {
  const { seen, stderr } = inProcess(probe, 'capsicum-test:*')
  t.equal(seen.onEnabled, true)
  t.match(stderr, /capsicum-test:on logged 42/)
  t.equal(seen.offEnabled, false, 'the other namespaces stay quiet')
})
