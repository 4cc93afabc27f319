/**
 * The lease that keeps one projector (and one scheduler) active among the nodes, for real
 * against Redis (REDIS_URL, or 127.0.0.1:6379 where the development and CI machines run
 * one), and the in-process lease on a fixed clock.
 *
 * Elections are driven step by step with tick(): nothing waits on a timer to decide an
 * outcome. The one wait is for Redis to expire a silent holder's key, observed through
 * PTTL (a condition, bounded by a safety timeout), never assumed after a sleep.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import type { Test } from 'tap'
import { LeaderElection } from '../../adapters/lease/election.ts'
import { InProcessLease, InProcessLeaseRegistry, type Lease } from '../../adapters/lease/lease.ts'
import { RedisLease } from '../../adapters/lease/redis.ts'

const redisUrl = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379'
const quiet = { info: () => {}, warn: () => {}, error: () => {} }

/** A fresh key space in Redis for one case, removed in teardown. */
async function redisFor(t: Test): Promise<{ redis: Redis; prefix: string }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
  const prefix = `capsicum-test:${randomUUID()}:`
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  await redis.ping()
  return { redis, prefix }
}

/** A candidate: an election over `lease` whose job just records whether it runs. */
function candidate(lease: Lease) {
  const job = { running: false, starts: 0, tokens: [] as number[] }
  const election = new LeaderElection({
    lease,
    renewEveryMs: 60_000, // never fires during a case: the test ticks
    logger: quiet,
    onElected: async (token) => {
      job.running = true
      job.starts += 1
      job.tokens.push(token)
    },
    onDeposed: async () => {
      job.running = false
    },
  })
  return { election, job }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('Redis lease: two candidates, exactly one holds it', async (t) => {
  const { redis, prefix } = await redisFor(t)
  const a = new RedisLease(redis, 'projector', 'node-a', 30_000, prefix)
  const b = new RedisLease(redis, 'projector', 'node-b', 30_000, prefix)

  const tokenA = await a.tryAcquire()
  t.type(tokenA, 'number', 'the first candidate takes the lease with a fencing token')
  t.equal(await b.tryAcquire(), null, 'the second one does not')
  t.equal(await b.renew(), false, 'and cannot renew what it does not hold')
  t.equal(await a.renew(), true, 'the holder renews')
  t.equal(await a.tryAcquire(), tokenA, 'asking again while holding keeps the same token')
  t.match(await redis.get(`${prefix}projector`), /^\d+:node-a$/, 'Redis names the holder')
})

t.test('Redis lease: a standby takes over when the active one releases', async (t) => {
  const { redis, prefix } = await redisFor(t)
  const a = candidate(new RedisLease(redis, 'projector', 'node-a', 30_000, prefix))
  const b = candidate(new RedisLease(redis, 'projector', 'node-b', 30_000, prefix))

  await a.election.tick()
  await b.election.tick()
  t.equal(a.election.state, 'active')
  t.equal(b.election.state, 'standby')
  t.ok(a.job.running && !b.job.running, 'one projector runs')

  await a.election.stop() // a graceful shutdown gives the lease up
  t.notOk(a.job.running, 'the stopped node no longer runs it')
  await b.election.tick()
  t.equal(b.election.state, 'active', 'the standby takes over at its next tick')
  t.ok(b.job.running, 'and runs the projector')
  t.ok(b.job.tokens[0]! > a.job.tokens[0]!, 'with a greater fencing token')
  await b.election.stop()
})

t.test('Redis lease: a standby takes over when the active one stops renewing', async (t) => {
  const { redis, prefix } = await redisFor(t)
  const ttl = 300
  const a = candidate(new RedisLease(redis, 'projector', 'node-a', ttl, prefix))
  const b = candidate(new RedisLease(redis, 'projector', 'node-b', ttl, prefix))
  t.teardown(async () => {
    await a.election.stop()
    await b.election.stop()
  })

  await a.election.tick()
  await b.election.tick()
  t.equal(a.election.state, 'active')
  t.equal(b.election.state, 'standby', 'while the holder is alive the standby waits')

  // Node A dies: it ticks no more. Redis expires its lease after the TTL.
  await until(async () => (await redis.pttl(`${prefix}projector`)) === -2, 'the silent holder’s lease to expire')
  await b.election.tick()
  t.equal(b.election.state, 'active', 'the standby takes over')
  t.ok(b.job.tokens[0]! > a.job.tokens[0]!, 'with a greater fencing token')

  // Node A comes back (a long pause, not a crash): its renewal fails and it stops.
  await a.election.tick()
  t.equal(a.election.state, 'standby', 'the old holder learns it lost the lease')
  t.notOk(a.job.running, 'and stops its projector')
  t.ok(b.job.running, 'one projector runs')
  await a.election.stop()
  t.match(await redis.get(`${prefix}projector`), /:node-b$/, 'the old holder’s release did not remove the new holder’s lease')
})

t.test('Redis lease: a node that cannot reach Redis stops its job', async (t) => {
  const { redis, prefix } = await redisFor(t)
  const lease = new RedisLease(redis, 'scheduler', 'node-a', 30_000, prefix)
  const a = candidate(lease)
  await a.election.tick()
  t.ok(a.job.running)
  const failing = candidate({
    name: 'scheduler',
    tryAcquire: () => lease.tryAcquire(),
    renew: () => Promise.reject(new Error('ECONNREFUSED')),
    release: () => lease.release(),
  })
  await failing.election.tick()
  t.equal(failing.election.state, 'active')
  await failing.election.tick()
  t.equal(failing.election.state, 'standby', 'a holder that cannot prove it holds stands down')
  t.notOk(failing.job.running)
  await a.election.stop()
  await failing.election.stop()
})

t.test('in-process lease on a fixed clock: one holder, expiry, takeover, fencing', async (t) => {
  let now = 1_000
  const registry = new InProcessLeaseRegistry(() => now)
  const a = candidate(new InProcessLease(registry, 'projector', 'a', 100))
  const b = candidate(new InProcessLease(registry, 'projector', 'b', 100))
  await a.election.tick()
  await b.election.tick()
  t.equal(a.election.state, 'active')
  t.equal(b.election.state, 'standby')

  now += 99
  await b.election.tick()
  t.equal(b.election.state, 'standby', 'not before the lease has run out')
  now += 1
  await b.election.tick()
  t.equal(b.election.state, 'active', 'as soon as it has')
  await a.election.tick()
  t.equal(a.election.state, 'standby', 'the expired holder stands down')
  t.ok(b.job.tokens[0]! > a.job.tokens[0]!)

  now += 50
  await b.election.tick()
  now += 60
  await a.election.tick()
  t.equal(a.election.state, 'standby', 'a renewed lease is not taken over')
  await b.election.stop()
  await a.election.tick()
  t.equal(a.election.state, 'active', 'a released lease is taken at once')
  await a.election.stop()
})

t.test('a job that fails to start gives the lease back', async (t) => {
  const registry = new InProcessLeaseRegistry(() => 0)
  const lease = new InProcessLease(registry, 'projector', 'a', 100)
  const election = new LeaderElection({
    lease,
    renewEveryMs: 60_000,
    logger: quiet,
    onElected: async () => {
      throw new Error('read store unreachable')
    },
    onDeposed: async () => {},
  })
  await election.tick()
  t.equal(election.state, 'standby')
  t.type(await new InProcessLease(registry, 'projector', 'b', 100).tryAcquire(), 'number', 'another candidate can take it')
})
