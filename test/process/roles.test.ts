/**
 * Node roles (`capsicum start --role ...`) on the embedded engine: a node without `api`
 * serves no API routes but still reports ready; read models in the node's own SQLite file
 * are projected by that node whatever its roles; an unknown role is a usage error.
 * (Leases between nodes are test/lease/lease.test.ts, against Redis.)
 */
import t from 'tap'
import type { Test } from 'tap'
import { startCapsicum } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { tempDataDir } from '../helpers/server.ts'
import { runCli } from '../helpers/process.ts'
import type { NodeRole } from '../../adapters/scale-out.ts'

const start = async (t: Test, roles: readonly NodeRole[] | undefined) => {
  const config = loadConfig({ DATA_DIR: tempDataDir(t), PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent' })
  const capsicum = await startCapsicum(config, roles === undefined ? {} : { roles })
  t.teardown(() => capsicum.close())
  return capsicum
}

t.test('a node without the api role serves no API routes, and is ready', async (t) => {
  const capsicum = await start(t, ['projector', 'processor', 'scheduler'])
  t.strictSame(capsicum.roles, ['projector', 'processor', 'scheduler'])
  t.equal((await fetch(`${capsicum.url}/v1.1/things/types`)).status, 404, 'no platform routes')
  t.equal((await fetch(`${capsicum.url}/readyz`)).status, 200, 'ready')
  t.equal(capsicum.runner.status, 'running', 'it projects')
})

t.test('an api-only node on the embedded engine still projects its own read models', async (t) => {
  const capsicum = await start(t, ['api'])
  t.equal((await fetch(`${capsicum.url}/v1.1/things/types`)).status, 401, 'the platform routes are there (and want a token)')
  t.equal(capsicum.runner.status, 'running', 'the read models in its own file are kept up to date by it')
  t.equal((await fetch(`${capsicum.url}/readyz`)).status, 200)
})

t.test('all roles by default', async (t) => {
  const capsicum = await start(t, undefined)
  t.strictSame(capsicum.roles, ['api', 'mqtt', 'projector', 'processor', 'scheduler'])
})

t.test('an unknown role is a usage error', async (t) => {
  const result = await runCli(['start', '--role', 'api,worker'], { DATA_DIR: tempDataDir(t) })
  t.equal(result.code, 64)
  t.match(result.stderr, /Unknown role worker; roles are api, mqtt, projector, processor, scheduler/)
})
