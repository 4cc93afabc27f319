/** The metrics and rate limit settings: defaults, forms, and a clear refusal of bad values. */
import t from 'tap'
import { ConfigError, loadConfig } from '../../adapters/config.ts'

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems]
    throw error
  }
  return []
}

t.test('defaults: metrics on the HTTP port, limits on', async (t) => {
  const config = loadConfig({})
  t.strictSame(config.metrics, { enabled: true, port: null, token: undefined })
  t.match(config.rateLimits, {
    enabled: true,
    tokenPerAddress: { points: 30, windowSeconds: 60 },
    tokenPerEmail: { points: 10, windowSeconds: 60 },
    apiPerToken: { points: 1200, windowSeconds: 60 },
    apiPerAccount: { points: 6000, windowSeconds: 60 },
    mqttConnectPerAddress: { points: 60, windowSeconds: 60 },
    mqttConnectPerUsername: { points: 600, windowSeconds: 60 },
    mqttPublishPerConnection: { points: 100, windowSeconds: 1 },
    mqttBytesPerAccount: { points: 10 * 1024 * 1024, windowSeconds: 60 },
    redisPrefix: 'capsicum:ratelimit',
  })
})

t.test('forms: COUNT/WINDOW in s, m or h; bytes with kb or mb', async (t) => {
  const config = loadConfig({ RATE_LIMIT_API_PER_TOKEN: '50/10s', RATE_LIMIT_TOKEN_PER_EMAIL: '3/2h', RATE_LIMIT_MQTT_BYTES_PER_ACCOUNT: '64kb/1s', METRICS_PORT: '9464', METRICS: 'off', RATE_LIMITS: 'OFF' })
  t.strictSame(config.rateLimits.apiPerToken, { points: 50, windowSeconds: 10 })
  t.strictSame(config.rateLimits.tokenPerEmail, { points: 3, windowSeconds: 7200 })
  t.strictSame(config.rateLimits.mqttBytesPerAccount, { points: 65536, windowSeconds: 1 })
  t.equal(config.metrics.port, 9464)
  t.equal(config.metrics.enabled, false)
  t.equal(config.rateLimits.enabled, false)
})

t.test('bad values stop the start, naming the variable and the form', async (t) => {
  t.match(problemsOf({ RATE_LIMIT_API_PER_TOKEN: '1200 per minute' }), [/^RATE_LIMIT_API_PER_TOKEN="1200 per minute" is not valid: expected COUNT\/WINDOW/])
  t.match(problemsOf({ RATE_LIMIT_MQTT_CONNECT_PER_ADDRESS: '0/1m' }), [/^RATE_LIMIT_MQTT_CONNECT_PER_ADDRESS=/], 'at least one')
  t.match(problemsOf({ RATE_LIMIT_TOKEN_PER_ADDRESS: '5/2d' }), [/^RATE_LIMIT_TOKEN_PER_ADDRESS=/], 'a window of s, m or h')
  t.match(problemsOf({ RATE_LIMIT_TOKEN_PER_ADDRESS: '5/25h' }), [/^RATE_LIMIT_TOKEN_PER_ADDRESS=/], 'at most a day')
  t.match(problemsOf({ METRICS: 'maybe' }), [/^METRICS="maybe" is not valid: expected on or off/])
  t.match(problemsOf({ METRICS_PORT: '70000' }), [/^METRICS_PORT=/])
  const short = problemsOf({ METRICS_TOKEN: 'short' })
  t.match(short, [/^METRICS_TOKEN="<redacted>" is not valid: expected a string of at least 16 characters/])
  t.notMatch(short.join(), /short/, 'the token is not echoed')
  t.match(problemsOf({ RATE_LIMIT_REDIS_PREFIX: 'has space' }), [/^RATE_LIMIT_REDIS_PREFIX=/])
})
