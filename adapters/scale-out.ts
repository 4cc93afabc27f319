/**
 * The scale-out side of the composition root: which engine each port gets, node roles, the
 * leases that keep one projector and one scheduler active, and read-your-writes on a node
 * that does not run the projector.
 *
 * Each port is chosen on its own: EVENTSTORE_URL → KurrentDB, MONGODB_URL → MongoDB,
 * KAFKA_BROKERS → Kafka; a port whose URL is unset stays on the embedded SQLite file. With
 * none set, nothing changes: one process, one file, no lease.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { Redis } from 'ioredis'
import type { EventStore } from '../domain/ports/event-store.ts'
import type { CheckpointStore, ReadStore } from '../domain/ports/read-store.ts'
import type { TelemetryStream } from '../domain/ports/telemetry-stream.ts'
import type { Config } from './config.ts'
import { KurrentEventStore } from './eventstore/kurrentdb.ts'
import type { Logger } from '../domain/ports/logger.ts'
import { LeaderElection } from './lease/election.ts'
import { InProcessLease, InProcessLeaseRegistry, type Lease } from './lease/lease.ts'
import { RedisLease } from './lease/redis.ts'
import { MongoReadStore } from './readstore/mongo.ts'
import { KafkaTelemetryStream } from './stream/kafka.ts'
import type { Service } from './services.ts'

export const nodeRoles = ['api', 'mqtt', 'projector', 'processor', 'scheduler'] as const
export type NodeRole = (typeof nodeRoles)[number]

/** `api,projector` → the roles; throws naming what is not a role. Empty or absent: all. */
export function parseRoles(text: string | undefined): NodeRole[] {
  if (text === undefined || text.trim() === '') return [...nodeRoles]
  const asked = text.split(',').map((r) => r.trim()).filter((r) => r !== '')
  const unknown = asked.filter((r) => !(nodeRoles as readonly string[]).includes(r))
  if (unknown.length > 0) throw new RangeError(`Unknown role ${unknown.join(', ')}; roles are ${nodeRoles.join(', ')}`)
  return [...new Set(asked)] as NodeRole[]
}

export interface EngineChoice {
  readonly eventStore: 'sqlite' | 'kurrentdb'
  readonly readStore: 'sqlite' | 'mongodb'
  readonly telemetry: 'sqlite' | 'kafka'
}

export function engineChoice(config: Config): EngineChoice {
  return {
    eventStore: config.scaleOut.eventStoreUrl ? 'kurrentdb' : 'sqlite',
    readStore: config.scaleOut.mongodbUrl ? 'mongodb' : 'sqlite',
    telemetry: config.scaleOut.kafkaBrokers ? 'kafka' : 'sqlite',
  }
}

/** Several nodes share the log and the read models: jobs that must run once need a lease. */
export const needsLease = (engines: EngineChoice): boolean => engines.eventStore !== 'sqlite' || engines.readStore !== 'sqlite'

export interface OpenedStores {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  readonly engines: EngineChoice
  close(): Promise<void>
}

interface EmbeddedStores {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly telemetry: TelemetryStream
  close(): Promise<void>
}

/**
 * Opens each port on its engine; the embedded file only when some port still needs it.
 * `openEmbedded` is the composition root's openEmbeddedStores.
 */
export async function openStores(
  config: Config,
  openEmbedded: (config: Config) => EmbeddedStores,
  logger: Logger,
): Promise<OpenedStores> {
  const engines = engineChoice(config)
  const { scaleOut } = config
  const closers: (() => Promise<void>)[] = []
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error({ err: error }, 'close failed'))
  }
  try {
    const embedded =
      engines.eventStore === 'sqlite' || engines.readStore === 'sqlite' || engines.telemetry === 'sqlite' ? openEmbedded(config) : undefined
    if (embedded) closers.push(() => embedded.close())

    let eventStore: EventStore = embedded?.eventStore as EventStore
    if (engines.eventStore === 'kurrentdb') {
      const kurrent = new KurrentEventStore({
        connectionString: scaleOut.eventStoreUrl!,
        onSubscriptionDropped: (error, attempt) => logger.warn({ err: error, attempt }, 'KurrentDB subscription dropped: resubscribing'),
      })
      closers.push(() => kurrent.close())
      eventStore = kurrent
    }
    let readStore: ReadStore = embedded?.readStore as ReadStore
    if (engines.readStore === 'mongodb') {
      const mongo = new MongoReadStore({ url: scaleOut.mongodbUrl!, database: scaleOut.mongodbDatabase })
      closers.push(() => mongo.close())
      readStore = mongo
    }
    let telemetry: TelemetryStream = embedded?.telemetry as TelemetryStream
    if (engines.telemetry === 'kafka') {
      const kafka = await KafkaTelemetryStream.open({
        brokers: scaleOut.kafkaBrokers!,
        topic: scaleOut.kafkaTopic,
        partitions: config.telemetryPartitions,
      })
      closers.push(() => kafka.close())
      if (kafka.partitionCount !== config.telemetryPartitions) {
        logger.warn(
          { topic: scaleOut.kafkaTopic, partitions: kafka.partitionCount, configured: config.telemetryPartitions },
          'the telemetry topic already exists with another partition count: using the topic’s',
        )
      }
      telemetry = kafka
    }
    // Every engine must answer before the node says it started.
    await Promise.all([eventStore.ping(), readStore.ping(), telemetry.ping()])
    return { eventStore, readStore, telemetry, engines, close: closeAll }
  } catch (error) {
    await closeAll()
    throw error
  }
}

export interface Leases {
  /** a lease named `name` for this node */
  lease(name: string): Lease
  close(): Promise<void>
}

/** Redis leases when REDIS_URL is set; otherwise in-process ones (one node only). */
export function openLeases(config: Config): Leases {
  const candidate = `${hostname()}:${process.pid}:${randomUUID()}`
  const ttl = config.scaleOut.leaseTtlMs
  if (config.scaleOut.redisUrl) {
    const redis = new Redis(config.scaleOut.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 })
    return {
      lease: (name) => new RedisLease(redis, name, candidate, ttl),
      close: async () => {
        await redis.quit().catch(() => redis.disconnect())
      },
    }
  }
  const registry = new InProcessLeaseRegistry()
  return { lease: (name) => new InProcessLease(registry, name, candidate, ttl), close: async () => {} }
}

/** Runs `start`/`stop` on whichever node holds the lease named `name`. */
export function elect(
  leases: Leases,
  name: string,
  config: Config,
  logger: Logger,
  job: { start(token: number): Promise<void>; stop(): Promise<void> },
): LeaderElection {
  return new LeaderElection({
    lease: leases.lease(name),
    renewEveryMs: Math.max(100, Math.floor(config.scaleOut.leaseTtlMs / 3)),
    logger,
    onElected: (token) => job.start(token),
    onDeposed: () => job.stop(),
  })
}

/**
 * `service` run on whichever node holds the lease of its name: started when this node is
 * elected, stopped when it is deposed; this node's own start and stop only join and leave
 * the election. Its members' health counts only while it is active here.
 */
export function leased(service: Service, leases: () => Leases, config: Config, logger: Logger): Service {
  let election: LeaderElection | undefined
  return {
    name: service.name,
    members: [service],
    start: async () => {
      election = elect(leases(), service.name, config, logger, service)
      await election.start()
    },
    stop: async () => {
      await election?.stop()
      election = undefined
    },
    active: () => election?.state === 'active',
  }
}

/**
 * Read-your-writes on a node that does not run the projector: polls the projections'
 * checkpoints in the shared read store until every one has reached `position`, or the
 * timeout passes. The answer then is what a GET on any node sees.
 */
export async function waitForCheckpoints(
  store: CheckpointStore,
  names: readonly string[],
  position: number,
  timeoutMs: number,
  pollMs = 25,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const checkpoints = await Promise.all(names.map((name) => store.loadCheckpoint(name)))
    if (checkpoints.every((c) => c !== undefined && c.position !== null && c.position >= position)) return true
    if (Date.now() >= deadline) return false
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))))
  }
}
