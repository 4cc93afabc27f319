/**
 * Request ids and the request log, costing next to nothing for a request that logs
 * nothing (the common case: a 2xx is logged at debug). pino-http did the same work
 * eagerly: a child logger per request, its bindings serialized and redacted, three
 * listeners. Here the child logger is made when something logs through `req.log`, and one
 * `close` listener (only when a completion line or the metrics want it) writes the line.
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
  }
}

export interface RequestLogOptions {
  readonly logger: Logger
  /** told of every request answered in full, with its duration: the HTTP metrics */
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
 * and logs each answer at debug (2xx, 3xx), info (4xx) or error (5xx).
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
  return (req, res, next) => {
    const incoming = req.headers['x-request-id']
    const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID()
    req.id = id
    res.setHeader('X-Request-Id', id)
    // error is the highest level a completion line has: below it, nothing is logged
    if (completed !== undefined || logger.isLevelEnabled('error')) {
      const started = performance.now()
      res.once('close', () => {
        const seconds = (performance.now() - started) / 1000
        const answered = res.writableFinished
        if (answered) completed?.(req, res, seconds)
        const level = answered ? levelOf(res.statusCode) : 'debug'
        if (!logger.isLevelEnabled(level)) return
        logger[level](
          { req: requestBindings(req), res: { statusCode: res.statusCode }, responseTime: Math.round(seconds * 1000) },
          answered ? 'request completed' : 'request closed before its answer was complete',
        )
      })
    }
    next()
  }
}
