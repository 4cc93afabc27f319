/**
 * Request ids and the request log, costing next to nothing for a request that logs
 * nothing (the common case: a 2xx is logged at debug). pino-http did the same work
 * eagerly: a child logger per request, its bindings serialized and redacted, three
 * listeners. Here the child logger is made when something logs through `req.log`, and the
 * line is written where the answer ends, by a hook on the app's response prototype.
 */
import { randomUUID } from 'node:crypto'
import type { Express, Request, RequestHandler, Response } from 'express'
import type { Level, Logger } from 'pino'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** this request's id: the caller's `X-Request-Id` when it is sane, else a new UUID; echoed in the answer */
      id: string
      /** the server's logger, bound to this request (its id, method and URL with secrets masked) */
      readonly log: Logger
    }
    // res.locals: a dictionary per request already, so what is kept there changes the shape of no object
    interface Locals {
      /** when the request came in (performance.now()), kept only while its answer is watched */
      startedAt?: number
    }
  }
}

export interface RequestLogOptions {
  readonly logger: Logger
  /** told of every answer as it ends, with its duration: the HTTP metrics */
  readonly completed?: (req: Request, res: Response, seconds: number) => void
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

// Secrets that travel in URLs (a reset link's token, an authorization code) stay out of the log.
const secretInUrl = /([?&](?:token|code|code_verifier|access_token|refresh_token|client_secret|password)=)[^&#]*/gi

/** What a log line says of a request. */
export const requestBindings = (req: Request): { id: string; method: string; url: string } => ({
  id: req.id,
  method: req.method,
  url: req.originalUrl.includes('=') ? req.originalUrl.replace(secretInUrl, '$1[redacted]') : req.originalUrl,
})

const levelOf = (status: number): Level => (status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug')

/**
 * The first middleware of `app`: gives every request its id and a lazily made `req.log`,
 * and logs each answer at debug (2xx, 3xx), info (4xx) or error (5xx) when it ends.
 */
export function requestLog(app: Express, { logger, completed }: RequestLogOptions): RequestHandler {
  // Once, on express's request prototype: the child logger exists only for requests that log.
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request): Logger {
      const log = logger.child({ req: requestBindings(this) })
      Object.defineProperty(this, 'log', { value: log })
      return log
    },
  })
  // And the end of every answer on the response prototype, rather than a listener per
  // request: the duration is the time until the answer is handed to the socket. (An answer
  // never ended, a stream its client left, is neither logged nor counted.)
  const end = app.response.end
  app.response.end = function (this: Response, ...args: unknown[]) {
    const started = this.locals.startedAt
    if (started !== undefined && !this.writableEnded) {
      const seconds = (performance.now() - started) / 1000
      completed?.(this.req, this, seconds)
      const level = levelOf(this.statusCode)
      if (logger.isLevelEnabled(level)) {
        logger[level]({ req: requestBindings(this.req), res: { statusCode: this.statusCode }, responseTime: Math.round(seconds * 1000) }, 'request completed')
      }
    }
    return (end as (...args: unknown[]) => Response).apply(this, args)
  } as typeof end
  return (req, res, next) => {
    const incoming = req.headers['x-request-id']
    const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID()
    req.id = id
    res.setHeader('X-Request-Id', id)
    // error is the highest level a completion line has: below it, only the metrics watch
    if (completed !== undefined || logger.isLevelEnabled('error')) res.locals.startedAt = performance.now()
    next()
  }
}
