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
import type { Config } from './config.ts'
import { SqliteEventStore } from './eventstore/sqlite.ts'
import { createLogger } from './logger.ts'
import { SqliteReadStore } from './readstore/sqlite.ts'
import { openDatabase } from './sqlite/database.ts'
import { lockDataDir } from './sqlite/lock.ts'
import { SqliteTelemetryStream } from './stream/sqlite.ts'
import { TokenService } from './tokens.ts'

export interface CapsicumOptions {
  readonly logger?: Logger
  /** the clock; tests fix it */
  readonly now?: () => Date
}

export interface Capsicum {
  readonly url: string
  readonly port: number
  readonly logger: Logger
  readonly tokens: TokenService
  readonly eventStore: SqliteEventStore
  readonly readStore: SqliteReadStore
  readonly telemetry: SqliteTelemetryStream
  readonly runner: ProjectionRunner
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
  const stores = openEmbeddedStores(config)
  const { eventStore, readStore, telemetry } = stores

  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger })
  let shuttingDown = false
  const server: Server = createServer()
  try {
    await runner.start()
    const seeded = await seedBuiltIns({ eventStore, now, newId })
    if (seeded !== null) await runner.waitFor(seeded, config.readYourWritesTimeoutMs)

    const openapi = new OpenApiDocument(apiDescription)
    const deps: RouteDeps = {
      eventStore,
      readStore,
      now,
      newId,
      openapi,
      requireBearer: bearerAuthentication(tokens.verify),
      readYourWrites: async (position) => {
        if (position === null) return
        const reached = await runner.waitFor(position, config.readYourWritesTimeoutMs)
        if (!reached) logger.warn({ position, lag: runner.position }, 'read models lag behind a write; answering anyway')
      },
    }
    const app = createHttpApp({
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      routers: platformRoutes(deps),
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
    await runner.stop()
    await stores.close()
    throw error
  }
  const port = (server.address() as AddressInfo).port
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  logger.info({ url, docs: `${url}/docs`, dataDir: config.dataDir }, 'Capsicum is listening')

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
      await runner.stop()
      await stores.close()
      logger.info('stopped')
    })()
    return closing
  }

  return { url, port, logger, tokens, eventStore, readStore, telemetry, runner, server, close }
}
