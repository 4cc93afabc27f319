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
import { bearerAuthentication } from '../commands/http/auth.ts'
import { OpenApiDocument } from '../commands/http/openapi.ts'
import type { RouteDeps } from '../commands/route-deps.ts'
import { allProjections } from '../projections/index.ts'
import { ProjectionRunner } from '../projections/runner.ts'
import { ConfigError, type Config } from './config.ts'
import type { EventStore } from '../commands/event-store.ts'
import type { ReadStore } from '../projections/read-store.ts'
import type { TelemetryStream } from '../streams/telemetry-stream.ts'
import type { LeaderElection } from './lease/election.ts'
import { elect, needsLease, nodeRoles, openLeases, openStores, waitForCheckpoints, type Leases, type NodeRole } from './scale-out.ts'
import { SqliteEventStore } from './eventstore/sqlite.ts'
import { createLogger } from './logger.ts'
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

export interface CapsicumOptions {
  readonly logger?: Logger
  /** the clock; tests fix it */
  readonly now?: () => Date
  /** what this node runs (`capsicum start --role ...`); all of them by default */
  readonly roles?: readonly NodeRole[]
}

export interface Capsicum {
  readonly url: string
  readonly port: number
  readonly logger: Logger
  readonly tokens: TokenService
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  readonly runner: ProjectionRunner
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
  const logger = options.logger ?? createLogger(config.logLevel)
  const now = options.now ?? (() => new Date())
  const newId = (): string => randomUUID()
  const tokens = TokenService.load(config)
  const secretBox = AesGcmSecretBox.load(config)
  const secrets = new NodeSecrets(tokens.privateKey)
  const roles = options.roles ?? nodeRoles
  const stores = await openStores(config, openEmbeddedStores, logger)
  const { eventStore, readStore, telemetry } = stores

  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger })
  // Side effects (e-mails) run where the projector runs: on one node at a time.
  const mailer = createMailer(config, logger)
  let listeningUrl = ''
  const reactors = new ReactorRunner({
    eventStore,
    logger,
    reactors: allReactors({ mailer, secrets, now, publicUrl: () => config.publicUrl ?? listeningUrl }),
    checkpoints: {
      load: async (name) => (await readStore.loadCheckpoint(name))?.position,
      save: (name, position) => readStore.commit([], new Map([[name, { position, version: 1 }]])),
    },
  })
  // Several nodes on shared engines: the projector and the scheduler run on the one node
  // holding their lease (Redis), the others stand by. One process on SQLite needs none.
  const shared = needsLease(stores.engines)
  // Read models in this node's own SQLite file are projected by this node, whatever its
  // roles; shared ones (MongoDB) by the one projector node holding the lease.
  const sharedReadModels = stores.engines.readStore !== 'sqlite'
  const projectsHere = roles.includes('projector') || !sharedReadModels
  const projectorLease = sharedReadModels && roles.includes('projector')
  const schedulerLease = shared && roles.includes('scheduler')
  if ((projectorLease || schedulerLease) && !config.scaleOut.redisUrl) {
    await stores.close()
    throw new ConfigError([
      'REDIS_URL is not set: on shared engines the projector (MONGODB_URL) and scheduler (EVENTSTORE_URL or MONGODB_URL) roles need the Redis lease that keeps one of each active',
    ])
  }
  let leases: Leases | undefined
  const elections: LeaderElection[] = []
  /** Resolves once the read models include `position`: this node's projector, or the shared checkpoints. */
  const readModelsReach = (position: number): Promise<boolean> =>
    runner.status === 'running'
      ? runner.waitFor(position, config.readYourWritesTimeoutMs)
      : waitForCheckpoints(readStore, allProjections.map((p) => p.name), position, config.readYourWritesTimeoutMs)
  let shuttingDown = false
  const server: Server = createServer()
  try {
    if (projectsHere) {
      if (projectorLease) {
        leases ??= openLeases(config)
        const election = elect(leases, 'projector', config, logger, {
          start: async () => {
            await runner.start()
            await reactors.start()
          },
          stop: async () => {
            await reactors.stop()
            await runner.stop()
          },
        })
        elections.push(election)
        await election.start()
      } else {
        await runner.start()
        await reactors.start()
      }
    }
    if (schedulerLease) {
      leases ??= openLeases(config)
      // Nothing to schedule yet: the lease is taken so that exactly one node will.
      const election = elect(leases, 'scheduler', config, logger, { start: async () => {}, stop: async () => {} })
      elections.push(election)
      await election.start()
    }
    for (const role of ['mqtt', 'processor', 'scheduler'] as const) {
      if (roles.includes(role)) logger.info({ role }, `role ${role} accepted: nothing to run in it yet`)
    }
    const seeded = await seedBuiltIns({ eventStore, now, newId })
    if (seeded !== null) await readModelsReach(seeded)

    const openapi = new OpenApiDocument(apiDescription)
    const deps: RouteDeps = {
      eventStore,
      readStore,
      now,
      newId,
      openapi,
      secretBox,
      secrets,
      accessTokens: {
        issue: (claims) => ({ token: tokens.sign(claims), expiresIn: tokens.accessTokenTtlSeconds }),
      },
      requireBearer: bearerAuthentication(tokens.verify),
      readModelsPosition: () => (runner.status === 'running' ? runner.position : undefined),
      readYourWrites: async (position) => {
        if (position === null) return
        const reached = await readModelsReach(position)
        if (!reached) logger.warn({ position, lag: runner.position }, 'read models lag behind a write; answering anyway')
      },
    }
    const app = createHttpApp({
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      routers: roles.includes('api') ? platformRoutes(deps) : [],
      openapi,
      jwks: () => tokens.jwks(),
      isShuttingDown: () => shuttingDown,
      healthChecks: [
        { name: 'eventStore', check: () => eventStore.ping() },
        { name: 'readStore', check: () => readStore.ping() },
        { name: 'telemetryStream', check: () => telemetry.ping() },
        {
          name: 'projections',
          check: async () => {
            // A node without the projector role, or a standby, is ready without running it.
            if (!projectsHere || (projectorLease && runner.status === 'stopped')) return
            if (runner.status !== 'running') throw new Error(`projection runner is ${runner.status}`)
          },
        },
      ],
    })

    server.on('request', app)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(config.port, config.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (error) {
    for (const election of elections) await election.stop()
    await reactors.stop()
    await runner.stop()
    mailer.close()
    await leases?.close()
    await stores.close()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  listeningUrl = url
  logger.info({ url, docs: `${url}/docs`, dataDir: config.dataDir, roles, engines: stores.engines }, 'Capsicum is listening')

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true
      logger.info('shutting down: no new connections, finishing requests in flight')
      const drained = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs)
      await drained
      clearTimeout(timer)
      for (const election of elections) await election.stop()
      await reactors.stop()
      await runner.stop()
      mailer.close()
      await leases?.close()
      await stores.close()
      logger.info('stopped')
    })()
    return closing
  }

  return { url, port, logger, tokens, eventStore, readStore, telemetry, runner, roles, server, close }
}
