/**
 * The one place errors become HTTP: status from the error's kind, body
 * `{ error, message, details }`. Anything that is not a CapsicumError is a bug: it is
 * logged with its stack and answered as a plain 500 that reveals nothing.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express'
import {
  CapsicumError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ValidationError,
  type ErrorKind,
} from '../../domain/errors.ts'

const statusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  rate_limited: 429,
}

export interface ErrorBody {
  readonly error: string
  readonly message: string
  readonly details: readonly { readonly field: string; readonly problem: string }[]
  /** a 429: the limit that refused, its size and window, and when it resets */
  readonly limit?: { readonly name: string; readonly count: number; readonly window_seconds: number; readonly reset_at: string; readonly retry_after_seconds: number }
}

/** Errors thrown by express's own body parsers carry a `type`. */
function fromBodyParser(error: unknown): CapsicumError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined
  switch ((error as { type: unknown }).type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`Request body exceeds the limit of ${(error as { limit?: number }).limit ?? '?'} bytes`)
    case 'entity.parse.failed':
      return new ValidationError('Request body is not valid JSON', [{ field: 'body', problem: 'must be valid JSON' }], 'malformed_body')
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ValidationError('Unsupported request body encoding', [{ field: 'body', problem: 'must be UTF-8' }], 'malformed_body')
    default:
      return undefined
  }
}

export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } | undefined {
  const known = error instanceof CapsicumError ? error : fromBodyParser(error)
  if (!known) return undefined
  const body: ErrorBody = { error: known.code, message: known.message, details: known.details }
  if (known instanceof RateLimitedError) {
    const { name, count, windowSeconds, resetAt, retryAfterSeconds } = known.refusal
    return { status: statusOf[known.kind], body: { ...body, limit: { name, count, window_seconds: windowSeconds, reset_at: resetAt, retry_after_seconds: retryAfterSeconds } } }
  }
  return { status: statusOf[known.kind], body }
}

export const notFoundRoute: RequestHandler = (req, _res, next) => {
  next(new NotFoundError(`No route for ${req.method} ${req.path}`, 'route_not_found'))
}

export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const mapped = toErrorResponse(error)
  if (mapped) {
    // A route that authenticates otherwise (HTTP Basic) has set its own challenge.
    if (mapped.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="capsicum", error="invalid_token"')
    if (mapped.status >= 500) req.log?.warn({ err: error }, 'request failed')
    if (mapped.body.limit) res.setHeader('Retry-After', String(mapped.body.limit.retry_after_seconds))
    res.status(mapped.status).json(mapped.body)
    return
  }
  req.log?.error({ err: error }, 'unhandled error')
  if (res.headersSent) return
  res.status(500).json({ error: 'internal_error', message: 'Something went wrong on our side; it has been logged', details: [] })
}
