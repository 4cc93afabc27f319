/**
 * The HTTP shell every resource plugs into: request ids and logs (with the metrics' count),
 * the API-version header, body parsing with a size limit, rate limits, health, the OpenAPI
 * document and its interactive docs, JSON 404s, and the one error mapping.
 */
import express, { type RequestHandler } from 'express'
import type { Logger } from 'pino'
import swaggerUi from 'swagger-ui-express'
import { ValidationError } from '../../domain/errors.ts'
import { errorHandler, formFieldLimit, notFoundRoute } from './errors.ts'
import { requestLog, type RequestLogOptions } from './request-log.ts'
import type { OpenApiDocument } from './openapi.ts'
import type { FollowerReport } from '../../projections/log-follower.ts'

export const supportedApiVersion = '1.0'

export interface HealthCheck {
  readonly name: string
  check(): Promise<void>
}

export interface HttpAppOptions {
  readonly logger: Logger
  readonly bodyLimitBytes: number
  readonly routers: readonly RequestHandler[]
  readonly openapi: OpenApiDocument
  readonly healthChecks: readonly HealthCheck[]
  readonly jwks: () => object
  /** set while shutting down: readiness fails so load balancers stop sending traffic */
  readonly isShuttingDown: () => boolean
  /** told of every answered request, and serves GET /metrics when `endpoint` is given */
  readonly metrics?: { readonly completed: NonNullable<RequestLogOptions['completed']>; readonly endpoint: RequestHandler | undefined }
  /** after body parsing, before the routes: the limits that need no route (logins per address and e-mail) */
  readonly rateLimits?: RequestHandler
  /** every follower of the log and its status, shown by readiness (whether it counts is the health checks' say) */
  readonly followers?: () => Promise<readonly FollowerReport[]>
}

/** Absent means 1.0; anything else is refused, naming what is served. */
const apiVersion: RequestHandler = (req, _res, next) => {
  const requested = req.get('X-API-Version')
  if (requested === undefined || requested.trim() === supportedApiVersion) return next()
  next(
    new ValidationError(
      `X-API-Version ${JSON.stringify(requested)} is not supported; this server speaks ${supportedApiVersion}`,
      [{ field: 'X-API-Version', problem: `must be ${supportedApiVersion} (or absent)` }],
      'unsupported_api_version',
    ),
  )
}

const operationalPaths = new Set(['/metrics', '/healthz', '/readyz', '/.well-known/jwks.json', '/openapi.json', '/docs'])

/** Whether a path is one of the operational endpoints (a trailing slash allowed, as express allows it) or under /docs. */
const isOperational = (path: string): boolean =>
  operationalPaths.has(path) || path.startsWith('/docs/') || (path.endsWith('/') && operationalPaths.has(path.slice(0, -1)))

export function createHttpApp(options: HttpAppOptions): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')
  app.set('query parser', 'simple')
  app.use(requestLog(app, { logger: options.logger, ...(options.metrics ? { completed: options.metrics.completed } : {}) }))

  // Operational endpoints, outside the versioned API: one router behind one look at the
  // path, so that an API request passes them all with a Set lookup, not a match per route.
  const operational = express.Router()
  if (options.metrics?.endpoint) operational.get('/metrics', options.metrics.endpoint)
  operational.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  operational.get('/readyz', async (_req, res) => {
    const checks: Record<string, string> = {}
    let ready = !options.isShuttingDown()
    if (!ready) checks.server = 'shutting down'
    for (const health of options.healthChecks) {
      try {
        await health.check()
        checks[health.name] = 'ok'
      } catch (error) {
        ready = false
        checks[health.name] = error instanceof Error ? error.message : 'failed'
      }
    }
    // the log's head not answering already shows as the eventStore check
    const reports = await options.followers?.().catch(() => undefined)
    const followers = reports && Object.fromEntries(reports.map(({ name, ...status }) => [name, status]))
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks, ...(followers ? { followers } : {}) })
  })
  operational.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.json(options.jwks())
  })
  const openapiJson = options.openapi.toJSON()
  operational.get('/openapi.json', (_req, res) => {
    res.json(openapiJson)
  })
  operational.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' }, customSiteTitle: 'Capsicum API' }))

  app.use((req, res, next) => (isOperational(req.path) ? operational(req, res, next) : next()))

  app.use(apiVersion)
  const json = express.json({ limit: options.bodyLimitBytes })
  const form = express.urlencoded({ extended: false, limit: options.bodyLimitBytes, parameterLimit: formFieldLimit })
  // A request without a body (most reads) skips both parsers; they decide for the others.
  // The login limits, which read the parsed body, run in the same step: only a POST can be
  // a token request or a login, and a layer of its own would cost every request a match.
  const limitLogins = options.rateLimits
  const afterBody: express.RequestHandler = limitLogins ? (req, res, next) => (req.method === 'POST' ? limitLogins(req, res, next) : next()) : (_req, _res, next) => next()
  app.use((req, res, next) =>
    req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined
      ? afterBody(req, res, next)
      : json(req, res, (error?: unknown) => (error ? next(error) : form(req, res, (error?: unknown) => (error ? next(error) : afterBody(req, res, next))))),
  )
  for (const router of options.routers) app.use(router)

  app.use(notFoundRoute)
  app.use(errorHandler)
  return app
}
