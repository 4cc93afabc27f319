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
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}
