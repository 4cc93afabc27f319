/** The one logger: pino, JSON on stdout, secrets redacted. */
import { pino, type Logger } from 'pino'
import type { Config } from './config.ts'

export function createLogger(level: Config['logLevel']): Logger {
  return pino({
    level,
    base: { service: 'capsicum' },
    redact: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.client_secret', '*.clear_secret'],
  })
}
