/**
 * The one logger: pino, JSON on stdout, secrets kept out. Every logger the server uses,
 * its own or one handed in (tests, embedders), goes through `withSecretsKeptOut`: header
 * and field redaction, and an error serializer that keeps only what says what went wrong
 * (a body parser's error carries the whole body, and its message quotes it).
 */
import { pino, type Logger } from 'pino'
import { errorWithoutRequestData, redactedPaths } from '../commands/http/log-redaction.ts'
import type { Config } from './config.ts'

const secretsKeptOut = { redact: { paths: redactedPaths, censor: '[redacted]' }, serializers: { err: errorWithoutRequestData } }

export function withSecretsKeptOut(logger: Logger): Logger {
  return logger.child({}, secretsKeptOut)
}

export function createLogger(level: Config['logLevel']): Logger {
  return pino({ level, base: { service: 'capsicum' }, ...secretsKeptOut })
}
