/**
 * A start that fails part way (the HTTP port is taken) stops what it had started, in
 * reverse: the data directory is released and its store closed, so a next start on the
 * same directory succeeds.
 */
import t from 'tap'
import { startCapsicum } from '../adapters/capsicum.ts'
import { loadConfig } from '../adapters/config.ts'
import { tempDataDir } from './helpers/server.ts'

const configOf = (dataDir: string, port: string) =>
  loadConfig({ DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent' })

t.test('a failed start stops what started and releases the data directory', async (t) => {
  const first = await startCapsicum(configOf(tempDataDir(t), '0'))
  t.teardown(() => first.close())
  const dataDir = tempDataDir(t)
  await t.rejects(startCapsicum(configOf(dataDir, String(first.port))), { code: 'EADDRINUSE' }, 'the HTTP port is taken')
  const again = await startCapsicum(configOf(dataDir, '0'))
  t.teardown(() => again.close())
  t.equal((await fetch(`${again.url}/readyz`)).status, 200, 'the same data directory starts again: lock released, store closed')
})
