/**
 * The one error hierarchy. Every layer throws these; exactly one module
 * (commands/http/errors.ts) maps them to HTTP. `code` is stable and machine-readable,
 * `message` is for people, `details` names the offending fields.
 */
export interface ErrorDetail {
  readonly field: string
  readonly problem: string
}

export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'too_large'
  | 'rate_limited'

export abstract class CapsicumError extends Error {
  abstract readonly kind: ErrorKind
  constructor(
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message)
    this.name = new.target.name
  }
}

export class ValidationError extends CapsicumError {
  readonly kind = 'invalid'
  constructor(message: string, details: readonly ErrorDetail[] = [], code = 'validation_failed') {
    super(code, message, details)
  }
}

export class UnauthenticatedError extends CapsicumError {
  readonly kind = 'unauthenticated'
  constructor(message = 'A valid bearer token is required', code = 'invalid_token') {
    super(code, message)
  }
}

export class ForbiddenError extends CapsicumError {
  readonly kind = 'forbidden'
  constructor(message: string, code = 'forbidden') {
    super(code, message)
  }
}

export class NotFoundError extends CapsicumError {
  readonly kind = 'not_found'
  constructor(message: string, code = 'not_found') {
    super(code, message)
  }
}

export class ConflictError extends CapsicumError {
  readonly kind = 'conflict'
  constructor(message: string, code = 'conflict', details: readonly ErrorDetail[] = []) {
    super(code, message, details)
  }
}

/** An append named an expected stream revision that no longer holds. */
export class ConcurrencyError extends CapsicumError {
  readonly kind = 'conflict'
  constructor(
    readonly streamName: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('concurrent_modification', `Stream ${streamName} is at revision ${actual}, expected ${expected}`)
  }
}

/** `If-Match` named a revision that is no longer current. */
export class PreconditionFailedError extends CapsicumError {
  readonly kind = 'precondition_failed'
  constructor(message: string) {
    super('precondition_failed', message)
  }
}

export class PayloadTooLargeError extends CapsicumError {
  readonly kind = 'too_large'
  constructor(message: string, details: readonly ErrorDetail[] = [], code = 'payload_too_large') {
    super(code, message, details)
  }
}

/** Which limit refused a request, how big it is, and when it lets requests through again. */
export interface RateLimitRefusal {
  readonly name: string
  /** what the limit allows per window */
  readonly count: number
  readonly windowSeconds: number
  /** ISO time the window resets */
  readonly resetAt: string
  readonly retryAfterSeconds: number
}

/**
 * Too many attempts or requests: the caller may try again after `retryAfterSeconds` (the
 * Retry-After header). A rate limit names itself (`refusal`); a failure backoff does not.
 */
export class RateLimitedError extends CapsicumError {
  readonly kind = 'rate_limited'
  readonly refusal: RateLimitRefusal | undefined
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options: { readonly code?: string; readonly details?: readonly ErrorDetail[]; readonly refusal?: RateLimitRefusal } = {},
  ) {
    super(options.code ?? (options.refusal ? 'rate_limited' : 'too_many_attempts'), message, options.details ?? [])
    this.refusal = options.refusal
  }
}

