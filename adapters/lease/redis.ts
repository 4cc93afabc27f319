/**
 * The lease in Redis (ioredis 5): `SET lease:<name> <token>:<candidate> NX PX <ttl>` takes
 * it, a script extends it only while the value is still ours, another deletes it only while
 * it is still ours. The fencing token comes from `INCR lease:<name>:fence`, so it grows with
 * every acquisition, across every node and restart.
 *
 * Redis holds the lease on one server: if that Redis loses the key (a failover without
 * persistence), two holders may briefly overlap. The projector tolerates that: its writes
 * are guarded by log position (adapters/readstore/mongo.ts), so two projectors applying the
 * same deterministic projections converge.
 */
import type { Redis } from 'ioredis'
import type { Lease } from './lease.ts'

const renewScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`

const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

export class RedisLease implements Lease {
  private value: string | null = null

  constructor(
    private readonly redis: Redis,
    readonly name: string,
    private readonly candidate: string,
    private readonly ttlMs: number,
    private readonly keyPrefix = 'capsicum:lease:',
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError('ttlMs must be a positive whole number')
  }

  private get key(): string {
    return `${this.keyPrefix}${this.name}`
  }

  async tryAcquire(): Promise<number | null> {
    if (this.value !== null && (await this.renew())) return Number(this.value.split(':')[0])
    const token = await this.redis.incr(`${this.key}:fence`)
    const value = `${token}:${this.candidate}`
    const set = await this.redis.set(this.key, value, 'PX', this.ttlMs, 'NX')
    if (set !== 'OK') return null
    this.value = value
    return token
  }

  async renew(): Promise<boolean> {
    if (this.value === null) return false
    const extended = Number(await this.redis.eval(renewScript, 1, this.key, this.value, String(this.ttlMs)))
    if (extended !== 1) this.value = null
    return extended === 1
  }

  async release(): Promise<void> {
    if (this.value === null) return
    const value = this.value
    this.value = null
    await this.redis.eval(releaseScript, 1, this.key, value)
  }
}
