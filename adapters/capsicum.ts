/**
 * The composition root: reads nothing from the environment itself (it is handed a
 * Config), picks the adapters, checks they work, wires the core to them and starts
 * listening. `close` is the graceful shutdown: stop accepting, let requests in flight
 * finish, stop the projector, flush the stores, release the data directory.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import { platformRoutes, seedBuiltIns } from '../commands/index.ts'
import { createHttpApp } from '../commands/http/app.ts'
import { bearerAuthentication, type Principal } from '../commands/http/auth.ts'
import type { Request } from 'express'
import { OpenApiDocument } from '../commands/http/openapi.ts'
import type { RouteDeps } from '../commands/route-deps.ts'
import { allProjections } from '../projections/index.ts'
import { ProjectionRunner } from '../projections/runner.ts'
import { ConfigError, type Config } from './config.ts'
import type { EventStore } from '../domain/ports/event-store.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'
import type { TelemetryStream } from '../domain/ports/telemetry-stream.ts'
import { FollowerRegistry } from '../projections/log-follower.ts'
import { leased, needsLease, nodeRoles, openLeases, openStores, waitForCheckpoints, type Leases, type NodeRole } from './scale-out.ts'
import { followersRunning, once, serviceGroup, ServiceStack, type Service } from './services.ts'
import type { HealthCheck } from '../commands/http/app.ts'
import type { Mailer } from '../domain/ports/mailer.ts'
import { SqliteEventStore } from './eventstore/sqlite.ts'
import { createLogger, withSecretsKeptOut } from './logger.ts'
import { SqliteReadStore } from './readstore/sqlite.ts'
import { openDatabase } from './sqlite/database.ts'
import { lockDataDir } from './sqlite/lock.ts'
import { SqliteTelemetryStream } from './stream/sqlite.ts'
import { TokenService } from './tokens.ts'
import { AesGcmSecretBox } from './secret-box.ts'
import { NodeSecrets } from './secrets.ts'
import { createMailer } from './mail.ts'
import { allReactors } from '../streams/reactors/index.ts'
import { ReactorRunner } from '../streams/reactors/reactor-runner.ts'
import { startMqttEndpoint, type MqttEndpoint } from './mqtt/endpoint.ts'
import { DeliveryWorker } from '../streams/reactors/delivery-worker.ts'
import { RetryScheduler } from '../streams/reactors/retry-scheduler.ts'
import { JobScheduler } from '../streams/scheduler.ts'
import { createHttpPusher } from './http-push.ts'
import { createSmsSender } from './sms.ts'
import type { ReadingHook } from '../domain/ports/reading-hook.ts'
import { TelemetryProcessor } from '../streams/telemetry-processor.ts'
import { RuleEngine } from '../streams/rules/rule-engine.ts'
import { ReadingHistoryProjector, readingHistoryName } from '../projections/reading-history.ts'
import { ForbiddenError, UnauthenticatedError } from '../domain/errors.ts'
import { Metrics, bearerMatches, listenForMetrics, type FollowerPosition } from './metrics.ts'
import { RateLimits } from './rate-limits.ts'

export interface CapsicumOptions {
  readonly logger?: Logger
  /** the clock; tests fix it */
  readonly now?: () => Date
  /** what this node runs (`capsicum start --role ...`); all of them by default */
  readonly roles?: readonly NodeRole[]
  /** what sees every batch of readings once the telemetry processor recorded it (the rules core) */
  readonly hooks?: readonly ReadingHook[]
}

export interface Capsicum {
  readonly url: string
  readonly port: number
  /** the plain MQTT listener's port and mqtt:// URL; null when this node has none */
  readonly mqttPort: number | null
  readonly mqttUrl: string | null
  /** the MQTT TLS listener's port; null when no certificate is configured */
  readonly mqttTlsPort: number | null
  /** the port of /metrics' own listener (METRICS_PORT); null when it is served on the HTTP port, or off */
  readonly metricsPort: number | null
  readonly logger: Logger
  readonly tokens: TokenService
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  readonly runner: ProjectionRunner
  /** the points behind GET /v1.1/things/{id}/data/{channel} */
  readonly readingHistory: ReadingHistoryProjector
  /** on nodes with the processor role */
  readonly processor: TelemetryProcessor | undefined
  /** the rules core, on nodes with the processor role; `catchUp()` waits until it knows every rule written so far */
  readonly ruleEngine: RuleEngine | undefined
  /** every follower of the log on this node, with its status (readiness, metrics) */
  readonly followers: FollowerRegistry
  readonly roles: readonly NodeRole[]
  readonly server: Server
  close(): Promise<void>
}

export const apiDescription = {
  title: 'Capsicum',
  version: '1.0',
  description: 'The Cayenne Cloud API, served by Capsicum. Use a bearer token (`npx capsicum token`).',
}

/** Opens the embedded engine's stores on DATA_DIR (shared by the server and the CLI). */
export function openEmbeddedStores(config: Config) {
  const lock = lockDataDir(config.dataDir)
  try {
    const db = openDatabase(config.dataDir)
    const eventStore = new SqliteEventStore(db)
    const readStore = new SqliteReadStore(db)
    const telemetry = new SqliteTelemetryStream(db, config.telemetryPartitions)
    return {
      db,
      eventStore,
      readStore,
      telemetry,
      async close() {
        await eventStore.close()
        await telemetry.close()
        await readStore.close()
        db.close()
        lock.release()
      },
    }
  } catch (error) {
    lock.release()
    throw error
  }
}

export async function startCapsicum(config: Config, options: CapsicumOptions = {}): Promise<Capsicum> {
  // A logger handed in gets the same redaction as our own.
  const logger = options.logger ? withSecretsKeptOut(options.logger) : createLogger(config.logLevel)
  const now = options.now ?? (() => new Date())
  const newId = (): string => randomUUID()
  const tokens = TokenService.load(config)
  const secretBox = AesGcmSecretBox.load(config)
  const secrets = new NodeSecrets(tokens.privateKey)
  const roles = options.roles ?? nodeRoles
  const stores = await openStores(config, openEmbeddedStores, logger)
  const { eventStore, readStore, telemetry } = stores
  const followers = new FollowerRegistry(eventStore)

  /** The one place follower positions are read for the lag metrics: their stored checkpoints. */
  const followerPositions = async (): Promise<FollowerPosition[]> => {
    const names = allProjections.map((p) => p.name)
    const checkpoints = await Promise.all(names.map((name) => readStore.loadCheckpoint(name)))
    const history = await readStore.readingHistory().loadCheckpoint()
    return [
      ...names.map((name, i) => ({ name, position: checkpoints[i]?.position ?? null })),
      { name: readingHistoryName, position: history?.position ?? null },
    ]
  }
  const metrics = config.metrics.enabled
    ? new Metrics({ eventStore, telemetry, followerPositions, telemetryGroups: roles.includes('processor') ? ['telemetry-processor'] : [], now })
    : undefined
  if (metrics && eventStore instanceof SqliteEventStore) eventStore.observe(metrics)
  const rateLimits = config.rateLimits.enabled
    ? new RateLimits({ limits: config.rateLimits, redisUrl: config.scaleOut.redisUrl, logger, now, ...(metrics ? { refused: (limit: string) => metrics.rateLimited(limit) } : {}) })
    : undefined

  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger, followers })
  const readingHistory = new ReadingHistoryProjector({ eventStore, store: readStore.readingHistory(), logger, followers })
  const ruleEngine = roles.includes('processor') ? new RuleEngine({ eventStore, readStore, now, newId, logger, followers }) : undefined
  const processor = roles.includes('processor')
    ? new TelemetryProcessor({ telemetry, eventStore, hooks: [...(ruleEngine ? [ruleEngine] : []), ...(options.hooks ?? [])], logger, newId, instruments: metrics })
    : undefined
  // Side effects (e-mails) run where the projector runs: on one node at a time.
  const mailer = createMailer(config, logger)
  const deliveries = new DeliveryWorker({
    eventStore,
    now,
    newId,
    logger,
    mailer,
    mailConfigured: config.mail.smtpUrl !== undefined,
    sms: createSmsSender(config.automation.sms),
    httpPush: createHttpPusher({ allowPrivate: config.automation.httpPushAllowPrivate, timeoutMs: config.automation.httpPushTimeoutMs }),
    instruments: metrics,
  })
  // Retries run where the reactors run; started after them, stopped before them.
  const retries = new RetryScheduler({ deliveries, readStore, now, logger })
  const scheduler = new JobScheduler({ eventStore, readStore, now, newId, logger, instruments: metrics })
  let listeningUrl = ''
  // The device endpoint; a node without the mqtt role that runs the reactors still
  // publishes commands, through Redis, when the cluster mode is on.
  const mqttListens = roles.includes('mqtt')
  let mqtt: MqttEndpoint | undefined
  // made once the MQTT endpoint runs (the command reactor publishes through it)
  let reactors: ReactorRunner | undefined
  const reactorsOf = (): ReactorRunner =>
    (reactors ??= reactorRunner({ config, readStore, eventStore, logger, followers, mailer, secrets, now, deliveries, publicUrl: () => config.publicUrl ?? listeningUrl, mqtt }))
  // Several nodes on shared engines: the projector and the scheduler run on the one node
  // holding their lease (Redis), the others stand by. One process on SQLite needs none.
  const shared = needsLease(stores.engines)
  // Read models in this node's own SQLite file are projected by this node, whatever its
  // roles; shared ones (MongoDB) by the one projector node holding the lease.
  const sharedReadModels = stores.engines.readStore !== 'sqlite'
  const projectsHere = roles.includes('projector') || !sharedReadModels
  const projectorLease = sharedReadModels && roles.includes('projector')
  const schedulerLease = shared && roles.includes('scheduler')
  let leases: Leases | undefined
  const leasesOf = (): Leases => (leases ??= openLeases(config))
  /** Resolves once the read models include `position`: this node's projector, or the shared checkpoints. */
  const readModelsReach = (position: number): Promise<boolean> =>
    runner.status === 'running'
      ? runner.waitFor(position, config.readYourWritesTimeoutMs)
      : waitForCheckpoints(readStore, allProjections.map((p) => p.name), position, config.readYourWritesTimeoutMs)
  const server: Server = createServer()
  const closeMqtt = once(async () => mqtt?.close())

  const projector = projectorGroup({ runner, readingHistory, retries, reactors: reactorsOf, started: () => reactors, logger })
  const schedulerService: Service = { name: 'scheduler', start: () => scheduler.start(), stop: () => scheduler.stop() }
  const services: Service[] = [
    { name: 'stores', start: async () => {}, stop: () => stores.close() },
    {
      name: 'leases',
      start: async () => {
        if ((projectorLease || schedulerLease) && !config.scaleOut.redisUrl) {
          throw new ConfigError([
            'REDIS_URL is not set: on shared engines the projector (MONGODB_URL) and scheduler (EVENTSTORE_URL or MONGODB_URL) roles need the Redis lease that keeps one of each active',
          ])
        }
      },
      stop: async () => leases?.close(),
    },
    { name: 'mailer', start: async () => {}, stop: async () => mailer.close() },
    { name: 'rate-limits', start: async () => rateLimits?.ready(), stop: async () => rateLimits?.close() },
  ]
  if (mqttListens || (config.scaleOut.redisUrl && roles.includes('projector'))) {
    services.push({
      name: 'mqtt',
      start: async () => {
        mqtt = await startMqttEndpoint({
          config, logger, now, newId, eventStore, readStore, telemetry, secretBox, listen: mqttListens, followers,
          settled: (position) => readModelsReach(position),
          instruments: metrics,
          rateLimits,
        })
      },
      stop: closeMqtt,
    })
  }
  if (projectsHere) services.push(projectorLease ? leased(projector, leasesOf, config, logger) : projector)
  if (schedulerLease) services.push(leased(schedulerService, leasesOf, config, logger))
  else if (roles.includes('scheduler')) services.push(schedulerService)
  if (ruleEngine) services.push({ name: 'rules', start: () => ruleEngine.start(), stop: () => ruleEngine.stop(), health: followersRunning(() => [ruleEngine.follower]) })
  if (processor) services.push({ name: 'processor', start: async () => processor.start(), stop: () => processor.stop() })
  services.push({
    name: 'built-ins',
    start: async () => {
      const seeded = await seedBuiltIns({ eventStore, now, newId })
      if (seeded !== null) await readModelsReach(seeded)
    },
    stop: async () => {},
  })
  const stack = new ServiceStack(logger)
  services.push(
    httpService({
      config, logger, roles, tokens, eventStore, readStore, telemetry, now, newId, secretBox, secrets, followers, runner, server, readModelsReach,
      healthChecks: () => stack.healthChecks(services),
      devices: { attach: (http) => mqtt?.attachWebSocket(http), close: closeMqtt, port: () => mqtt?.port ?? null },
      publicUrl: () => config.publicUrl ?? listeningUrl,
      metrics,
      rateLimits,
    }),
  )
  let metricsListener: { port: number; close(): Promise<void> } | undefined
  if (metrics && config.metrics.port !== null) {
    const port = config.metrics.port
    services.push({
      name: 'metrics',
      start: async () => {
        metricsListener = await listenForMetrics(metrics, { host: config.host, port, token: config.metrics.token })
      },
      stop: async () => metricsListener?.close(),
    })
  }
  await stack.start(services)

  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  listeningUrl = url
  const mqttPort = mqtt?.port ?? null
  const mqttUrl = mqtt?.url ?? null
  const mqttTlsPort = mqtt?.tlsPort ?? null
  const metricsPort = metricsListener?.port ?? null
  logger.info({ url, docs: `${url}/docs`, mqttPort, mqttUrl, mqttTlsPort, metricsPort, dataDir: config.dataDir, roles, engines: stores.engines }, 'Capsicum is listening')

  const close = once(async () => {
    logger.info('shutting down: no new connections, finishing requests in flight')
    await stack.stop()
    logger.info('stopped')
  })

  return { url, port, mqttPort, mqttUrl, mqttTlsPort, metricsPort, logger, tokens, eventStore, readStore, telemetry, runner, readingHistory, processor, ruleEngine, followers, roles, server, close }
}

/** The reactors and what they need; the command reactor only where an MQTT endpoint publishes. */
function reactorRunner(deps: {
  readonly config: Config
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly logger: Logger
  readonly followers: FollowerRegistry
  readonly mailer: Mailer
  readonly secrets: NodeSecrets
  readonly now: () => Date
  readonly deliveries: DeliveryWorker
  readonly publicUrl: () => string
  readonly mqtt: MqttEndpoint | undefined
}): ReactorRunner {
  const { readStore } = deps
  return new ReactorRunner({
    eventStore: deps.eventStore,
    logger: deps.logger,
    followers: deps.followers,
    reactors: allReactors({
      mailer: deps.mailer,
      secrets: deps.secrets,
      now: deps.now,
      publicUrl: deps.publicUrl,
      deliveries: deps.deliveries,
      readStore,
      httpPushMaxAttempts: deps.config.automation.httpPushMaxAttempts,
      deviceCommands: deps.mqtt?.deviceCommands,
    }),
    checkpoints: {
      load: async (name) => (await readStore.loadCheckpoint(name))?.position,
      save: (name, position) => readStore.commit([], new Map([[name, { position, version: 1 }]])),
    },
  })
}

/** What the projector lease runs: the read models, then the reactors and their retries. */
function projectorGroup(parts: {
  readonly runner: ProjectionRunner
  readonly readingHistory: ReadingHistoryProjector
  readonly retries: RetryScheduler
  /** makes the reactors on first use */
  readonly reactors: () => ReactorRunner
  /** the reactors if they were made */
  readonly started: () => ReactorRunner | undefined
  readonly logger: Logger
}): Service {
  const { runner, readingHistory, retries } = parts
  const projections: Service = {
    name: 'projections',
    start: async () => {
      await runner.start()
      await readingHistory.start()
    },
    stop: async () => {
      await readingHistory.stop()
      await runner.stop()
    },
    health: followersRunning(() => [runner.follower, readingHistory.follower]),
  }
  const reactors: Service = {
    name: 'reactors',
    start: async () => {
      await parts.reactors().start()
      await retries.start()
    },
    stop: async () => {
      await retries.stop()
      await parts.started()?.stop()
    },
    health: followersRunning(() => parts.started()?.followers ?? []),
  }
  return serviceGroup('projector', [projections, reactors], parts.logger)
}

/** The HTTP server: the API (with the api role), health, docs; its stop drains requests in flight. */
function httpService(node: Pick<RouteDeps, 'eventStore' | 'readStore' | 'telemetry' | 'now' | 'newId' | 'secretBox' | 'secrets'> & {
  readonly config: Config
  readonly logger: Logger
  readonly roles: readonly NodeRole[]
  readonly tokens: TokenService
  readonly followers: FollowerRegistry
  readonly runner: ProjectionRunner
  readonly server: Server
  readonly readModelsReach: (position: number) => Promise<boolean>
  /** the health of the node's services */
  readonly healthChecks: () => HealthCheck[]
  /** the MQTT endpoint's WebSocket side, which holds HTTP sockets */
  readonly devices: { attach(server: Server): void; close(): Promise<void>; port(): number | null }
  readonly metrics: Metrics | undefined
  /** where people and clients reach this server (PUBLIC_URL, or the address it listens on) */
  readonly publicUrl: () => string
  readonly rateLimits: RateLimits | undefined
}): Service {
  const { config, logger, tokens, eventStore, readStore, telemetry, runner, server, metrics, rateLimits } = node
  let shuttingDown = false
  /** aborted when shutdown begins: long-lived answers (event streams) end so the server can drain */
  const shutdown = new AbortController()
  return {
    name: 'http',
    start: async () => {
      const openapi = new OpenApiDocument(apiDescription)
      const deps: RouteDeps = {
        eventStore,
        readStore,
        now: node.now,
        newId: node.newId,
        openapi,
        secretBox: node.secretBox,
        secrets: node.secrets,
        publicUrl: node.publicUrl,
        accessTokens: {
          issuer: config.jwt.issuer,
          issue: (claims) => ({ token: tokens.sign(claims), expiresIn: tokens.accessTokenTtlSeconds }),
        },
        auditSigner: { sign: (claims) => tokens.signDocument(claims) },
        requireBearer: bearerAuthentication(tokens.verify, rateLimits?.api),
        telemetry,
        mqttPort: node.devices.port(),
        shutdown: shutdown.signal,
        followers: node.followers,
        readModelsPosition: () => (runner.status === 'running' ? runner.position : undefined),
        readYourWrites: async (position) => {
          if (position === null) return
          const reached = await node.readModelsReach(position)
          if (!reached) logger.warn({ position, lag: runner.position }, 'read models lag behind a write; answering anyway')
        },
      }
      const app = createHttpApp({
        logger,
        bodyLimitBytes: config.bodyLimitBytes,
        routers: node.roles.includes('api') ? platformRoutes(deps) : [],
        openapi,
        jwks: () => tokens.jwks(),
        isShuttingDown: () => shuttingDown,
        ...(metrics
          ? { metrics: { completed: metrics.completed, endpoint: config.metrics.port === null ? metrics.handler(metricsReader(config.metrics.token, tokens.verify)) : undefined } }
          : {}),
        ...(rateLimits ? { rateLimits: rateLimits.logins } : {}),
        healthChecks: [
          { name: 'eventStore', check: () => eventStore.ping() },
          { name: 'readStore', check: () => readStore.ping() },
          { name: 'telemetryStream', check: () => telemetry.ping() },
          ...node.healthChecks(),
        ],
        followers: () => node.followers.reports(),
      })
      server.on('request', app)
      node.devices.attach(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.port, config.host, () => {
          server.off('error', reject)
          resolve()
        })
      })
    },
    stop: async () => {
      shuttingDown = true
      shutdown.abort()
      const drained = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs)
      // devices first (WebSocket ones hold HTTP sockets); their last records reach the stream
      await node.devices.close()
      await drained
      clearTimeout(timer)
    },
  }
}

/**
 * Who may read /metrics on the HTTP port: the bearer of METRICS_TOKEN, or of an admin's
 * access token. (On METRICS_PORT it is open, unless METRICS_TOKEN is set.)
 */
function metricsReader(metricsToken: string | undefined, verify: (token: string) => Principal): (req: Request) => void {
  return (req) => {
    const authorization = req.get('authorization')
    if (metricsToken !== undefined && bearerMatches(authorization, metricsToken)) return
    if (!authorization?.startsWith('Bearer ')) throw new UnauthenticatedError('GET /metrics needs an admin access token or the metrics token (Authorization: Bearer ...)')
    let principal: Principal
    try {
      principal = verify(authorization.slice('Bearer '.length).trim())
    } catch (error) {
      if (metricsToken !== undefined) throw new UnauthenticatedError('GET /metrics needs an admin access token or the metrics token (Authorization: Bearer ...)')
      throw error
    }
    if (!principal.roles.includes('admin')) throw new ForbiddenError('GET /metrics needs the admin role (or the metrics token)')
  }
}
