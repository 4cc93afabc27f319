/**
 * The HTTP shell every resource plugs into: request ids and logs, metrics, the API-version
 * header, body parsing with a size limit, rate limits, health, the OpenAPI document and its
 * interactive docs, JSON 404s, and the one error mapping.
 */
import { randomUUID } from 'node:crypto'
import express, { type RequestHandler, type Router } from 'express'
import { pinoHttp } from 'pino-http'
import type { Logger } from 'pino'
import swaggerUi from 'swagger-ui-express'
import { ValidationError } from '../../domain/errors.ts'
import { errorHandler, formFieldLimit, notFoundRoute } from './errors.ts'
import { errorWithoutRequestData } from './log-redaction.ts'
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
  readonly routers: readonly Router[]
  readonly openapi: OpenApiDocument
  readonly healthChecks: readonly HealthCheck[]
  readonly jwks: () => object
  /** set while shutting down: readiness fails so load balancers stop sending traffic */
  readonly isShuttingDown: () => boolean
  /** counts every request (first in line), and serves GET /metrics when `endpoint` is given */
  readonly metrics?: { readonly middleware: RequestHandler; readonly endpoint: RequestHandler | undefined }
  /** after body parsing, before the routes: the limits that need no route (logins per address and e-mail) */
  readonly rateLimits?: RequestHandler
  /** every follower of the log and its status, shown by readiness (whether it counts is the health checks' say) */
  readonly followers?: () => Promise<readonly FollowerReport[]>
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/

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

export function createHttpApp(options: HttpAppOptions): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')
  app.set('query parser', 'simple')
  if (options.metrics) app.use(options.metrics.middleware)

  app.use(
    pinoHttp({
      logger: options.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id']
        const id = typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID()
        res.setHeader('X-Request-Id', id)
        return id
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
      serializers: {
        // Secrets that travel in URLs (a reset link's token, an authorization code) stay out of the log.
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url.replace(/([?&](?:token|code|code_verifier|access_token|refresh_token|client_secret|password)=)[^&#]*/gi, '$1[redacted]'),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: errorWithoutRequestData,
      },
    }),
  )

  // Operational endpoints: outside the versioned API.
  if (options.metrics?.endpoint) app.get('/metrics', options.metrics.endpoint)
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
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
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.json(options.jwks())
  })
  const openapiJson = options.openapi.toJSON()
  app.get('/openapi.json', (_req, res) => {
    res.json(openapiJson)
  })
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' }, customSiteTitle: 'Capsicum API' }))

  app.use(apiVersion)
  app.use(express.json({ limit: options.bodyLimitBytes }))
  app.use(express.urlencoded({ extended: false, limit: options.bodyLimitBytes, parameterLimit: formFieldLimit }))
  if (options.rateLimits) app.use(options.rateLimits)
  for (const router of options.routers) app.use(router)

  app.use(notFoundRoute)
  app.use(errorHandler)
  return app
}
