// aedes-persistence-redis ships no types: the part the MQTT adapter uses.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis'

  interface AedesRedisPersistence {
    destroy(): Promise<void>
  }

  export default function aedesPersistenceRedis(options: { conn: Redis; maxSessionDelivery?: number }): AedesRedisPersistence
}
