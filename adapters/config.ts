/**
 * The one place the environment is read. Every variable is checked at start; a bad
 * value stops the process with a message naming the variable and the form expected.
 */
import { resolve } from 'node:path'

export interface Config {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  readonly bodyLimitBytes: number
  readonly jwt: {
    /** PEM text of the RS256 signing key; when absent one is created in DATA_DIR */
    readonly privateKeyPem: string | undefined
    readonly privateKeyFile: string | undefined
    readonly issuer: string
    readonly accessTokenTtlSeconds: number
  }
  readonly readYourWritesTimeoutMs: number
  readonly shutdownTimeoutMs: number
  readonly telemetryPartitions: number
  /** outgoing mail (password reset links); no smtpUrl: the mail is written to the log */
  readonly mail: { readonly smtpUrl: string | undefined; readonly from: string }
  /** where people reach the pages (links in e-mails); undefined: the address the server listens on */
  readonly publicUrl: string | undefined
  /** AES-256-GCM key (hex or base64) that seals MQTT secrets; when absent a file in DATA_DIR holds it */
  readonly secretKey: string | undefined
  readonly secretKeyFile: string | undefined
  /** the scale-out engines; each one unset keeps its port on the embedded SQLite engine */
  readonly scaleOut: {
    readonly eventStoreUrl: string | undefined
    readonly mongodbUrl: string | undefined
    readonly mongodbDatabase: string
    readonly kafkaBrokers: readonly string[] | undefined
    readonly kafkaTopic: string
    readonly redisUrl: string | undefined
    readonly leaseTtlMs: number
  }
  /** the device endpoint (aedes): TCP, TLS when a certificate is given, WebSocket at /mqtt on the HTTP port */
  readonly mqtt: {
    readonly host: string
    /** 0 picks a free port (tests); null: no plain TCP listener */
    readonly port: number | null
    readonly tlsPort: number
    readonly tlsCertFile: string | undefined
    readonly tlsKeyFile: string | undefined
    /** a command without an answer for this long is timed out */
    readonly commandTimeoutMs: number
    /** largest MQTT packet a connection may send (fixed header included); a larger one closes it */
    readonly maxPacketBytes: number
    /** a connection whose CONNECT (or TLS handshake) has not arrived whole by then is closed */
    readonly connectTimeoutMs: number
    /** the longest a refused (or, from a suspect address, any) CONNECT is held before its CONNACK; 0: never */
    readonly failedConnectDelayMaxMs: number
  }
  /** rules and jobs: how they reach people and services */
  readonly automation: {
    /** a Twilio-compatible Messages API; undefined: SMS notifications are recorded as undeliverable */
    readonly sms: { readonly apiUrl: string; readonly accountSid: string; readonly authToken: string; readonly from: string } | undefined
    readonly httpPushAllowPrivate: boolean
    readonly httpPushTimeoutMs: number
    readonly httpPushMaxAttempts: number
  }
  /** GET /metrics (Prometheus text format) */
  readonly metrics: {
    readonly enabled: boolean
    /** its own listener, where /metrics is open (unless a token is set); null: on the HTTP port, for an admin token or the metrics token */
    readonly port: number | null
    /** a bearer token that may read /metrics; undefined: admin tokens only on the HTTP port, anyone on METRICS_PORT */
    readonly token: string | undefined
  }
  /** rate limits and quotas (in process, or shared by every node through Redis when REDIS_URL is set) */
  readonly rateLimits: {
    readonly enabled: boolean
    readonly tokenPerAddress: RateLimit
    readonly tokenPerEmail: RateLimit
    readonly apiPerToken: RateLimit
    readonly apiPerAccount: RateLimit
    readonly mqttConnectPerAddress: RateLimit
    readonly mqttConnectPerUsername: RateLimit
    readonly mqttPublishPerConnection: RateLimit
    readonly mqttBytesPerAccount: RateLimit
    /** names the counters in Redis */
    readonly redisPrefix: string
  }
}

/** At most `points` in any window of `windowSeconds` (requests, connects, readings or bytes). */
export interface RateLimit {
  readonly points: number
  readonly windowSeconds: number
}

/** The variables, their defaults and forms: the README's table is written from this. */
export const configVariables = {
  HOST: { default: '0.0.0.0', form: 'an interface address', about: 'address the HTTP server binds' },
  PORT: { default: '8080', form: 'a port number 0-65535 (0 picks a free one)', about: 'HTTP port: auth, platform API, docs' },
  DATA_DIR: { default: './data', form: 'a directory path', about: 'where the embedded engine keeps its SQLite file and the signing key' },
  LOG_LEVEL: { default: 'info', form: 'fatal, error, warn, info, debug, trace or silent', about: 'pino log level (JSON logs on stdout)' },
  BODY_LIMIT: { default: '1mb', form: 'bytes, or a number with kb or mb', about: 'largest request body; larger ones get 413' },
  JWT_PRIVATE_KEY: { default: '', form: 'an RSA private key in PEM', about: 'RS256 signing key; wins over JWT_PRIVATE_KEY_FILE' },
  JWT_PRIVATE_KEY_FILE: { default: '$DATA_DIR/jwt-private.pem', form: 'a file path', about: 'RS256 signing key file; created on first start when missing' },
  JWT_ISSUER: { default: 'capsicum', form: 'a string', about: '`iss` of the tokens we issue and accept' },
  ACCESS_TOKEN_TTL: { default: '3600', form: 'seconds, 60-86400', about: 'lifetime of access tokens' },
  READ_YOUR_WRITES_TIMEOUT_MS: { default: '5000', form: 'milliseconds, 0-60000', about: 'how long a write waits for the read models before answering' },
  SHUTDOWN_TIMEOUT_MS: { default: '10000', form: 'milliseconds, 0-600000', about: 'how long SIGTERM waits for requests in flight' },
  TELEMETRY_PARTITIONS: { default: '16', form: 'a whole number 1-1024', about: 'partitions of the telemetry stream (fixed once data exists)' },
  SMTP_URL: { default: '', form: 'an SMTP URL (smtp:// or smtps://, user and password in it if needed)', about: 'where password reset e-mails are sent; unset: the reset link is written to the log' },
  MAIL_FROM: { default: 'Capsicum <no-reply@localhost>', form: 'an address, optionally with a name', about: 'sender of the e-mails' },
  PUBLIC_URL: { default: '', form: 'an http(s) URL without a path', about: 'where people reach the pages, for links in e-mails; unset: the address the server listens on' },
  SECRET_KEY: { default: '', form: '32 bytes: 64 hex digits or base64', about: 'server key that seals MQTT secrets (AES-256-GCM); wins over SECRET_KEY_FILE' },
  SECRET_KEY_FILE: { default: '$DATA_DIR/secret.key', form: 'a file path', about: 'the server key\'s file; created on first start when missing' },
  EVENTSTORE_URL: { default: '', form: 'a KurrentDB connection string (kurrentdb://, kurrentdb+discover://, esdb://)', about: 'events in KurrentDB / EventStoreDB instead of SQLite' },
  MONGODB_URL: { default: '', form: 'a MongoDB URL (mongodb:// or mongodb+srv://)', about: 'read models in MongoDB instead of SQLite' },
  MONGODB_DATABASE: { default: 'capsicum', form: 'a database name (letters, digits, _ and -)', about: 'the MongoDB database of the read models' },
  KAFKA_BROKERS: { default: '', form: 'host:port[,host:port...]', about: 'telemetry stream in Kafka instead of SQLite' },
  KAFKA_TOPIC: { default: 'capsicum-telemetry', form: 'a Kafka topic name (letters, digits, ., _ and -)', about: 'the telemetry topic, created at start with TELEMETRY_PARTITIONS partitions' },
  REDIS_URL: { default: '', form: 'a Redis URL (redis:// or rediss://)', about: 'the leases that keep one projector and one scheduler active, and the MQTT cluster mode (sessions and fan-out in Redis)' },
  LEASE_TTL_MS: { default: '10000', form: 'milliseconds, 1000-600000', about: 'how long a lease holder may stay silent before a standby takes over' },
  MQTT_HOST: { default: '0.0.0.0', form: 'an interface address', about: 'address the MQTT listeners bind' },
  MQTT_PORT: { default: '1883', form: 'a port number 0-65535 (0 picks a free one), or off', about: 'plain MQTT (3.1 and 3.1.1) for devices' },
  MQTTS_PORT: { default: '8883', form: 'a port number 0-65535 (0 picks a free one)', about: 'MQTT over TLS; listens only when MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE are set' },
  MQTT_TLS_CERT_FILE: { default: '', form: 'a PEM certificate (chain) file path', about: 'certificate of the MQTT TLS listener' },
  MQTT_TLS_KEY_FILE: { default: '', form: 'a PEM private key file path', about: 'private key of the MQTT TLS listener' },
  COMMAND_TIMEOUT_MS: { default: '60000', form: 'milliseconds, 1000-86400000', about: 'a command a device has not answered by then is timed out' },
  MQTT_MAX_PACKET_SIZE: { default: '256kb', form: 'bytes, or a number with kb or mb (1kb-256mb)', about: 'largest MQTT packet a device may send; a larger one closes the connection before its body is read' },
  MQTT_CONNECT_TIMEOUT_MS: { default: '10000', form: 'milliseconds, 1000-120000', about: 'a connection whose CONNECT (or TLS handshake) has not arrived whole by then is closed' },
  MQTT_FAILED_CONNECT_DELAY_MAX_MS: { default: '8000', form: 'milliseconds, 0-60000 (0 turns the delay off)', about: 'cap of the growing delay before the answer to repeated failed CONNECTs' },
  SMS_API_URL: { default: 'https://api.twilio.com', form: 'an http(s) URL', about: 'base URL of the Twilio-compatible SMS API (`/2010-04-01/Accounts/{sid}/Messages.json`)' },
  SMS_ACCOUNT_SID: { default: '', form: 'the account SID', about: 'SMS provider account; unset: SMS notifications are recorded as undeliverable' },
  SMS_AUTH_TOKEN: { default: '', form: 'the auth token', about: 'SMS provider secret' },
  SMS_FROM: { default: '', form: 'a phone number in E.164 form', about: 'sender of the SMS notifications' },
  HTTP_PUSH_ALLOW_PRIVATE: { default: 'false', form: 'true or false', about: 'let rules and jobs push to loopback and private addresses (off: no SSRF into your network)' },
  HTTP_PUSH_TIMEOUT_MS: { default: '10000', form: 'milliseconds, 100-60000', about: 'how long one HTTP push attempt may take' },
  HTTP_PUSH_MAX_ATTEMPTS: { default: '5', form: 'a whole number 1-20', about: 'attempts of an HTTP push (exponential backoff) before it is dead-lettered' },
  METRICS: { default: 'on', form: 'on or off', about: 'GET /metrics in the Prometheus text format' },
  METRICS_PORT: { default: '', form: 'a port number 0-65535 (0 picks a free one)', about: 'serve /metrics on its own listener only (open there unless METRICS_TOKEN is set); unset: on the HTTP port, for an admin token or METRICS_TOKEN' },
  METRICS_TOKEN: { default: '', form: 'a string of at least 16 characters', about: 'a bearer token that may read /metrics' },
  RATE_LIMITS: { default: 'on', form: 'on or off', about: 'the rate limits and quotas below' },
  RATE_LIMIT_TOKEN_PER_ADDRESS: { default: '30/1m', form: 'COUNT/WINDOW, the window in s, m or h (30/1m)', about: 'POST /oauth/token and the login form, per client address' },
  RATE_LIMIT_TOKEN_PER_EMAIL: { default: '10/1m', form: 'COUNT/WINDOW (10/1m)', about: 'POST /oauth/token and the login form, per e-mail (user name)' },
  RATE_LIMIT_API_PER_TOKEN: { default: '1200/1m', form: 'COUNT/WINDOW (1200/1m)', about: 'API requests per access token' },
  RATE_LIMIT_API_PER_ACCOUNT: { default: '6000/1m', form: 'COUNT/WINDOW (6000/1m)', about: 'API requests per account (all its tokens)' },
  RATE_LIMIT_MQTT_CONNECT_PER_ADDRESS: { default: '60/1m', form: 'COUNT/WINDOW (60/1m)', about: 'MQTT CONNECT attempts per client address; beyond: CONNACK 3' },
  RATE_LIMIT_MQTT_CONNECT_PER_USERNAME: { default: '600/1m', form: 'COUNT/WINDOW (600/1m)', about: 'MQTT CONNECT attempts per user name (all devices of the credentials); beyond: CONNACK 3' },
  RATE_LIMIT_MQTT_PUBLISH_PER_CONNECTION: { default: '100/1s', form: 'COUNT/WINDOW (100/1s)', about: 'PUBLISH packets per MQTT connection; beyond, the connection is paused until the window resets' },
  RATE_LIMIT_MQTT_BYTES_PER_ACCOUNT: { default: '10mb/1m', form: 'BYTES/WINDOW, bytes with kb or mb (10mb/1m)', about: 'PUBLISH payload bytes per account over MQTT; beyond, its connections are paused until the window resets' },
  RATE_LIMIT_REDIS_PREFIX: { default: 'capsicum:ratelimit', form: 'letters, digits, :, _ and -', about: 'prefix of the rate limit counters in Redis' },
} as const

export type ConfigVariable = keyof typeof configVariables

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = []
  const raw = (name: ConfigVariable): string => {
    const value = env[name]
    return value === undefined || value.trim() === '' ? configVariables[name].default : value.trim()
  }
  const problem = (name: ConfigVariable, value: string): void => {
    problems.push(`${name}=${JSON.stringify(value)} is not valid: expected ${configVariables[name].form}`)
  }
  const integer = (name: ConfigVariable, min: number, max: number): number => {
    const value = raw(name)
    const n = /^\d+$/.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problem(name, value)
      return min
    }
    return n
  }
  const bytes = (name: ConfigVariable): number => {
    const value = raw(name)
    const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(value)
    if (!match) {
      problem(name, value)
      return 0
    }
    const unit = (match[2] ?? 'b').toLowerCase()
    return Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1)
  }

  const logLevel = raw('LOG_LEVEL').toLowerCase()
  if (!(logLevels as readonly string[]).includes(logLevel)) problem('LOG_LEVEL', raw('LOG_LEVEL'))
  const privateKeyPem = env.JWT_PRIVATE_KEY?.trim() || undefined
  if (privateKeyPem !== undefined && !privateKeyPem.includes('PRIVATE KEY')) problem('JWT_PRIVATE_KEY', '<redacted>')
  const dataDir = resolve(raw('DATA_DIR'))
  const smtpUrl = env.SMTP_URL?.trim() ?? ''
  // Only the scheme is echoed: the URL may carry a password.
  if (smtpUrl && !/^smtps?:\/\/\S+$/.test(smtpUrl)) problem('SMTP_URL', `${smtpUrl.split('://')[0]}://...`)
  const publicUrl = env.PUBLIC_URL?.trim().replace(/\/+$/, '') ?? ''
  if (publicUrl && !/^https?:\/\/[^/\s]+$/.test(publicUrl)) problem('PUBLIC_URL', publicUrl)
  const secretKey = env.SECRET_KEY?.trim() || undefined
  if (secretKey !== undefined && !/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/.test(secretKey)) problem('SECRET_KEY', '<redacted>')
  const optionalUrl = (name: ConfigVariable, schemes: RegExp): string | undefined => {
    const value = env[name]?.trim()
    if (!value) return undefined
    // Only the scheme is echoed: a URL may carry a password.
    if (!schemes.test(value)) problem(name, `${value.split('://')[0]}://...`)
    return value
  }
  const kafkaBrokersRaw = env.KAFKA_BROKERS?.trim()
  const kafkaBrokers = kafkaBrokersRaw ? kafkaBrokersRaw.split(',').map((b) => b.trim()) : undefined
  if (kafkaBrokers && !kafkaBrokers.every((b) => /^[^\s:,/]+:\d{1,5}$/.test(b))) problem('KAFKA_BROKERS', kafkaBrokersRaw!)
  const mongodbDatabase = raw('MONGODB_DATABASE')
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(mongodbDatabase)) problem('MONGODB_DATABASE', mongodbDatabase)
  const kafkaTopic = raw('KAFKA_TOPIC')
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(kafkaTopic)) problem('KAFKA_TOPIC', kafkaTopic)
  const scaleOut: Config['scaleOut'] = {
    eventStoreUrl: optionalUrl('EVENTSTORE_URL', /^(kurrentdb|kurrent|kdb|esdb)(\+discover)?:\/\/\S+$/),
    mongodbUrl: optionalUrl('MONGODB_URL', /^mongodb(\+srv)?:\/\/\S+$/),
    mongodbDatabase,
    kafkaBrokers,
    kafkaTopic,
    redisUrl: optionalUrl('REDIS_URL', /^rediss?:\/\/\S+$/),
    leaseTtlMs: integer('LEASE_TTL_MS', 1000, 600000),
  }

  const mqttPortRaw = raw('MQTT_PORT')
  const mqttPort = mqttPortRaw.toLowerCase() === 'off' ? null : integer('MQTT_PORT', 0, 65535)
  const tlsCertFile = env.MQTT_TLS_CERT_FILE?.trim() ? resolve(env.MQTT_TLS_CERT_FILE.trim()) : undefined
  const tlsKeyFile = env.MQTT_TLS_KEY_FILE?.trim() ? resolve(env.MQTT_TLS_KEY_FILE.trim()) : undefined
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) problem(tlsCertFile ? 'MQTT_TLS_KEY_FILE' : 'MQTT_TLS_CERT_FILE', '')
  const unreadable = problems.length
  const maxPacketBytes = bytes('MQTT_MAX_PACKET_SIZE')
  // MQTT's own ceiling is 256 MB (a four-byte remaining length); below 1 KiB a CONNECT may not fit
  if (problems.length === unreadable && (maxPacketBytes < 1024 || maxPacketBytes > 256 * 1024 * 1024)) problem('MQTT_MAX_PACKET_SIZE', raw('MQTT_MAX_PACKET_SIZE'))
  const mqtt: Config['mqtt'] = {
    host: raw('MQTT_HOST'),
    port: mqttPort,
    tlsPort: integer('MQTTS_PORT', 0, 65535),
    tlsCertFile,
    tlsKeyFile,
    commandTimeoutMs: integer('COMMAND_TIMEOUT_MS', 1000, 86400000),
    maxPacketBytes,
    connectTimeoutMs: integer('MQTT_CONNECT_TIMEOUT_MS', 1000, 120000),
    failedConnectDelayMaxMs: integer('MQTT_FAILED_CONNECT_DELAY_MAX_MS', 0, 60000),
  }
  const smsApiUrl = raw('SMS_API_URL').replace(/\/+$/, '')
  if (!/^https?:\/\/\S+$/.test(smsApiUrl)) problem('SMS_API_URL', smsApiUrl)
  const smsAccountSid = env.SMS_ACCOUNT_SID?.trim() ?? ''
  const smsAuthToken = env.SMS_AUTH_TOKEN?.trim() ?? ''
  const smsFrom = env.SMS_FROM?.trim() ?? ''
  if (smsAccountSid) {
    if (!smsAuthToken) problem('SMS_AUTH_TOKEN', '')
    if (!/^\+[1-9]\d{6,14}$/.test(smsFrom)) problem('SMS_FROM', smsFrom)
  }
  const allowPrivate = raw('HTTP_PUSH_ALLOW_PRIVATE').toLowerCase()
  if (allowPrivate !== 'true' && allowPrivate !== 'false') problem('HTTP_PUSH_ALLOW_PRIVATE', allowPrivate)
  const automation: Config['automation'] = {
    sms: smsAccountSid ? { apiUrl: smsApiUrl, accountSid: smsAccountSid, authToken: smsAuthToken, from: smsFrom } : undefined,
    httpPushAllowPrivate: allowPrivate === 'true',
    httpPushTimeoutMs: integer('HTTP_PUSH_TIMEOUT_MS', 100, 60000),
    httpPushMaxAttempts: integer('HTTP_PUSH_MAX_ATTEMPTS', 1, 20),
  }

  const onOff = (name: ConfigVariable): boolean => {
    const value = raw(name).toLowerCase()
    if (value !== 'on' && value !== 'off') problem(name, value)
    return value !== 'off'
  }
  const rateLimit = (name: ConfigVariable): RateLimit => {
    const value = raw(name)
    const match = /^(\d+)\s*(kb|mb)?\s*\/\s*(\d+)\s*(s|m|h)$/i.exec(value)
    const unit = match?.[2]?.toLowerCase()
    const points = match ? Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1) : NaN
    const windowSeconds = match ? Number(match[3]) * ({ s: 1, m: 60, h: 3600 } as const)[match[4]!.toLowerCase() as 's' | 'm' | 'h'] : NaN
    if (!match || !Number.isSafeInteger(points) || points < 1 || windowSeconds < 1 || windowSeconds > 86400) {
      problem(name, value)
      return { points: 1, windowSeconds: 1 }
    }
    return { points, windowSeconds }
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || undefined
  if (metricsToken !== undefined && metricsToken.length < 16) problem('METRICS_TOKEN', '<redacted>')
  const metrics: Config['metrics'] = {
    enabled: onOff('METRICS'),
    port: env.METRICS_PORT?.trim() ? integer('METRICS_PORT', 0, 65535) : null,
    token: metricsToken,
  }
  const redisPrefix = raw('RATE_LIMIT_REDIS_PREFIX')
  if (!/^[A-Za-z0-9:_-]{1,64}$/.test(redisPrefix)) problem('RATE_LIMIT_REDIS_PREFIX', redisPrefix)
  const rateLimits: Config['rateLimits'] = {
    enabled: onOff('RATE_LIMITS'),
    tokenPerAddress: rateLimit('RATE_LIMIT_TOKEN_PER_ADDRESS'),
    tokenPerEmail: rateLimit('RATE_LIMIT_TOKEN_PER_EMAIL'),
    apiPerToken: rateLimit('RATE_LIMIT_API_PER_TOKEN'),
    apiPerAccount: rateLimit('RATE_LIMIT_API_PER_ACCOUNT'),
    mqttConnectPerAddress: rateLimit('RATE_LIMIT_MQTT_CONNECT_PER_ADDRESS'),
    mqttConnectPerUsername: rateLimit('RATE_LIMIT_MQTT_CONNECT_PER_USERNAME'),
    mqttPublishPerConnection: rateLimit('RATE_LIMIT_MQTT_PUBLISH_PER_CONNECTION'),
    mqttBytesPerAccount: rateLimit('RATE_LIMIT_MQTT_BYTES_PER_ACCOUNT'),
    redisPrefix,
  }

  const config: Config = {
    host: raw('HOST'),
    port: integer('PORT', 0, 65535),
    dataDir,
    logLevel: logLevel as Config['logLevel'],
    bodyLimitBytes: bytes('BODY_LIMIT'),
    jwt: {
      privateKeyPem,
      privateKeyFile: env.JWT_PRIVATE_KEY_FILE?.trim() ? resolve(env.JWT_PRIVATE_KEY_FILE.trim()) : undefined,
      issuer: raw('JWT_ISSUER'),
      accessTokenTtlSeconds: integer('ACCESS_TOKEN_TTL', 60, 86400),
    },
    readYourWritesTimeoutMs: integer('READ_YOUR_WRITES_TIMEOUT_MS', 0, 60000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 0, 600000),
    telemetryPartitions: integer('TELEMETRY_PARTITIONS', 1, 1024),
    mail: { smtpUrl: smtpUrl || undefined, from: raw('MAIL_FROM') },
    publicUrl: publicUrl || undefined,
    secretKey,
    secretKeyFile: env.SECRET_KEY_FILE?.trim() ? resolve(env.SECRET_KEY_FILE.trim()) : undefined,
    scaleOut,
    mqtt,
    automation,
    metrics,
    rateLimits,
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
