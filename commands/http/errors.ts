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

/** What the form parser accepts (body-parser's parameter limit, named in the 413). */
export const formFieldLimit = 1000

export interface ErrorBody {
  readonly error: string
  readonly message: string
  readonly details: readonly { readonly field: string; readonly problem: string }[]
  /** a 429: the limit that refused, its size and window, and when it resets */
  readonly limit?: { readonly name: string; readonly count: number; readonly window_seconds: number; readonly reset_at: string; readonly retry_after_seconds: number }
}

/** Line and column (both from 1) of a character offset, for messages about a body. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset)
  const line = before.split('\n').length
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`
}

const typographicQuote = /[\u201C\u201D\u2018\u2019]/

/**
 * Why a JSON body did not parse, with where, but never what it said: the body may carry
 * a password. Typographic quotes (the API text's own examples have them) are named.
 */
function jsonProblem(error: { body?: unknown; message?: unknown }): string {
  const text = typeof error.body === 'string' ? error.body : ''
  const quote = typographicQuote.exec(text)
  if (quote) return `contains a typographic quote (${quote[0]}) at ${lineAndColumn(text, quote.index)}: use straight quotes (")`
  const position = /at position (\d+)/.exec(typeof error.message === 'string' ? error.message : '')
  return position ? `is not valid JSON at ${lineAndColumn(text, Number(position[1]))}` : 'is not valid JSON'
}

/** Errors thrown by express's own body parsers carry a `type`; their `body` and message stay out of the answer. */
function fromBodyParser(error: unknown): CapsicumError | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const parserError = error as { type?: unknown; limit?: number; body?: unknown; message?: unknown; expose?: unknown; status?: unknown }
  // A body that does not decompress is an http-errors 400 without a type.
  const clientFault = parserError.expose === true && typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500
  switch (parserError.type ?? (clientFault ? 'stream.not.readable' : undefined)) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`Request body exceeds the limit of ${parserError.limit ?? '?'} bytes`, [
        { field: 'body', problem: `must be at most ${parserError.limit ?? '?'} bytes` },
      ])
    case 'parameters.too.many':
      return new PayloadTooLargeError(
        `Form body has more than ${formFieldLimit} fields`,
        [{ field: 'body', problem: `must have at most ${formFieldLimit} fields` }],
        'too_many_fields',
      )
    case 'entity.parse.failed': {
      const problem = jsonProblem(parserError)
      return new ValidationError(`Request body ${problem}`, [{ field: 'body', problem: `must be valid JSON; it ${problem}` }], 'malformed_body')
    }
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ValidationError('Unsupported request body encoding', [{ field: 'body', problem: 'must be UTF-8 (no content encoding)' }], 'malformed_body')
    case 'request.size.invalid':
    case 'request.aborted':
      return new ValidationError('The request body is shorter than its Content-Length', [{ field: 'body', problem: 'must be as long as Content-Length says' }], 'malformed_body')
    case 'entity.verify.failed':
    case 'stream.encoding.set':
    case 'stream.not.readable':
    case 'querystring.parse.rangeError':
      return new ValidationError('The request body cannot be read', [{ field: 'body', problem: 'must be well-formed' }], 'malformed_body')
    default:
      return undefined
  }
}

export function toErrorResponse(error: unknown): { status: number; body: ErrorBody } | undefined {
  const known = error instanceof CapsicumError ? error : fromBodyParser(error)
  if (!known) return undefined
  const body: ErrorBody = { error: known.code, message: known.message, details: known.details }
  if (known instanceof RateLimitedError && known.refusal) {
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
    if (error instanceof RateLimitedError) res.setHeader('Retry-After', String(error.retryAfterSeconds))
    if (mapped.status >= 500) req.log?.warn({ err: error }, 'request failed')
    res.status(mapped.status).json(mapped.body)
    return
  }
  req.log?.error({ err: error }, 'unhandled error')
  if (res.headersSent) return
  res.status(500).json({ error: 'internal_error', message: 'Something went wrong on our side; it has been logged', details: [] })
}
