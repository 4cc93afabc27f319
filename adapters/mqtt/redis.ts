/**
 * Cluster mode: aedes-persistence-redis keeps sessions, offline queues and retained
 * messages, mqemitter-redis fans publishes out to every node's broker. Keys and pub/sub
 * channels carry a prefix, so several installations (or test runs) can share a Redis.
 */
import aedesPersistenceRedis from 'aedes-persistence-redis'
import mqemitterRedis from 'mqemitter-redis'
import { Redis } from 'ioredis'
import { unlimitedDeliveries } from './aedes-internals.ts'

export interface RedisCluster {
  readonly mq: unknown
  readonly persistence: unknown
  close(): Promise<void>
}

type PrefixedEmitter = new (prefix: string, options: { subConn: Redis; pubConn: Redis; concurrency: number; matchEmptyLevels: boolean }) => {
  close(callback: () => void): void
}

/**
 * `prefix` names this installation: keys get `<prefix>:`, channels `<prefix>/` (a whole
 * topic level, so the broker's `#` filters still match).
 */
export async function openRedisCluster(url: string, prefix: string): Promise<RedisCluster> {
  const options = { maxRetriesPerRequest: 20, lazyConnect: true }
  const keys = new Redis(url, { ...options, keyPrefix: `${prefix}:` })
  const sub = new Redis(url, options)
  const pub = new Redis(url, options)
  try {
    await Promise.all([keys.connect(), sub.connect(), pub.connect()])
  } catch (error) {
    keys.disconnect()
    sub.disconnect()
    pub.disconnect()
    throw new Error(`Redis at REDIS_URL cannot be reached for the MQTT cluster mode: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const Emitter = (mqemitterRedis as unknown as { MQEmitterRedisPrefix: PrefixedEmitter }).MQEmitterRedisPrefix
  // the same matching aedes' own in-memory emitter uses ([MQTT-4.7.1-3]), and no limit
  // on deliveries at once (see `unlimitedDeliveries`)
  const mq = new Emitter(`${prefix}/`, { subConn: sub, pubConn: pub, concurrency: unlimitedDeliveries, matchEmptyLevels: true })
  const persistence = aedesPersistenceRedis({ conn: keys, maxSessionDelivery: 1000 })
  return {
    mq,
    persistence,
    async close() {
      // aedes closed the emitter (and its two connections); the persistence holds the third
      await persistence.destroy().catch(() => undefined)
      keys.disconnect()
    },
  }
}
