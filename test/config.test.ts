import t from 'tap'
import { ConfigError, loadConfig } from '../adapters/config.ts'

t.test('defaults need no environment at all', async (t) => {
  const config = loadConfig({})
  t.match(config, {
    host: '0.0.0.0',
    port: 8080,
    logLevel: 'info',
    bodyLimitBytes: 1024 * 1024,
    readYourWritesTimeoutMs: 5000,
    telemetryPartitions: 16,
    jwt: { issuer: 'capsicum', accessTokenTtlSeconds: 3600, privateKeyPem: undefined },
  })
  t.match(config.dataDir, /\/data$/)
})

t.test('reads each variable', async (t) => {
  const config = loadConfig({ PORT: '0', BODY_LIMIT: '64kb', LOG_LEVEL: 'DEBUG', ACCESS_TOKEN_TTL: '600', DATA_DIR: '/tmp/x' })
  t.match(config, { port: 0, bodyLimitBytes: 65536, logLevel: 'debug', jwt: { accessTokenTtlSeconds: 600 }, dataDir: '/tmp/x' })
})

t.test('names every bad variable and the form it expects', async (t) => {
  const error = t.throws(() =>
    loadConfig({ PORT: '70000', LOG_LEVEL: 'loud', BODY_LIMIT: 'huge', ACCESS_TOKEN_TTL: '5', TELEMETRY_PARTITIONS: '-1', JWT_PRIVATE_KEY: 'oops' }),
  ) as ConfigError
  t.type(error, ConfigError)
  t.equal(error.problems.length, 6)
  t.match(error.message, /PORT="70000" is not valid: expected a port number 0-65535/)
  t.match(error.message, /LOG_LEVEL="loud" is not valid/)
  t.match(error.message, /BODY_LIMIT="huge" is not valid/)
  t.match(error.message, /ACCESS_TOKEN_TTL="5" is not valid: expected seconds, 60-86400/)
  t.match(error.message, /TELEMETRY_PARTITIONS="-1"/)
  t.match(error.message, /JWT_PRIVATE_KEY="<redacted>"/, 'a secret is never echoed')
})

t.test('the MQTT limits: packet size, CONNECT timeout, failed-CONNECT delay', async (t) => {
  t.match(loadConfig({}).mqtt, { maxPacketBytes: 256 * 1024, connectTimeoutMs: 10_000, failedConnectDelayMaxMs: 8000 })
  t.match(loadConfig({ MQTT_MAX_PACKET_SIZE: '1mb', MQTT_CONNECT_TIMEOUT_MS: '3000', MQTT_FAILED_CONNECT_DELAY_MAX_MS: '0' }).mqtt, {
    maxPacketBytes: 1024 * 1024,
    connectTimeoutMs: 3000,
    failedConnectDelayMaxMs: 0,
  })
  for (const [value, why] of [['512', 'below 1 KiB'], ['300mb', "over MQTT's 256 MB"], ['big', 'not a size']] as const) {
    const error = t.throws(() => loadConfig({ MQTT_MAX_PACKET_SIZE: value }), why) as ConfigError
    t.same(error.problems, [`MQTT_MAX_PACKET_SIZE="${value}" is not valid: expected bytes, or a number with kb or mb (1kb-256mb)`], why)
  }
  t.throws(() => loadConfig({ MQTT_CONNECT_TIMEOUT_MS: '100' }), /MQTT_CONNECT_TIMEOUT_MS="100" is not valid/)
  t.throws(() => loadConfig({ MQTT_FAILED_CONNECT_DELAY_MAX_MS: '-1' }), /MQTT_FAILED_CONNECT_DELAY_MAX_MS="-1" is not valid/)
})
