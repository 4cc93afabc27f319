/**
 * What never reaches a log line: secret fields (pino redaction paths) and the request
 * data errors carry (an error serializer). adapters/logger.ts applies both to every logger
 * the server uses, the request log (request-log.ts) included.
 */
import { stdSerializers } from 'pino'

const secretFields = [
  'password',
  'new_password',
  'old_password',
  'current_password',
  'secret',
  'client_secret',
  'clear_secret',
  'token',
  'access_token',
  'refresh_token',
  'reset_token',
  'code_verifier',
  'authorization',
  'cookie',
  'body',
  'rawBody',
]

/** pino's paths: each secret field at the top and one level down, and the headers wherever a request is logged. */
export const redactedPaths = [
  ...secretFields,
  ...secretFields.map((field) => `*.${field}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
]

/** Properties of an error that carry request data (body-parser, http-errors, HTTP clients). */
const requestDataProperties = new Set(['body', 'rawBody', 'raw', 'req', 'request', 'res', 'response', 'config', 'headers'])

export function errorWithoutRequestData(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  // A body parser's error (http-errors, with `type`): a JSON error's message quotes the body, so only the kind stays.
  const parserType = (error as { type?: unknown }).type
  if (typeof parserType === 'string' && 'expose' in error) {
    return { type: error.name, parserError: parserType, status: (error as { status?: unknown }).status }
  }
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>
  for (const key of Object.keys(serialized)) if (requestDataProperties.has(key)) delete serialized[key]
  return serialized
}
