/**
 * Rate limits and quotas, with rate-limiter-flexible (fixed windows per key): in this
 * process's memory, or in Redis when REDIS_URL is set so that every node counts against
 * the same budget (a Redis outage falls back to the in-memory count, the library's
 * insurance limiter, rather than letting everything through or refusing everything).
 *
 * - HTTP: `/oauth/token` and the login form per client address and per e-mail, in front
 *   of the routes (beyond the lockout the grant code keeps); the API per access token and
 *   per account, once the bearer token is verified, counted from leases of points so that
 *   a request far from its limits does not wait for the limiter. A refusal is a 429
 *   (`RateLimitedError`).
 * - MQTT: CONNECT attempts per client address and per user name (CONNACK 3 beyond);
 *   publishes per connection and payload bytes per account, which slow the connection
 *   down (aedes stops reading its socket until the window resets), never drop it: what a
 *   device sent is read later, nothing is lost.
 */
import { createHash } from 'node:crypto'
import type { RequestHandler, Request, Response } from 'express'
import { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { Logger } from 'pino'
import { RateLimitedError, type RateLimitRefusal } from '../domain/errors.ts'
import { bearerTokenOf, principalOf, type Principal } from '../commands/http/auth.ts'
import type { Config, RateLimit } from './config.ts'

export type LimitName = keyof Omit<Config['rateLimits'], 'enabled' | 'redisPrefix'>

/** The limits' names as the 429 body, the headers and the metric label spell them. */
const labelOf: Record<LimitName, string> = {
  tokenPerAddress: 'token_per_address',
  tokenPerEmail: 'token_per_email',
  apiPerToken: 'api_per_token',
  apiPerAccount: 'api_per_account',
  mqttConnectPerAddress: 'mqtt_connect_per_address',
  mqttConnectPerUsername: 'mqtt_connect_per_username',
  mqttPublishPerConnection: 'mqtt_publish_per_connection',
  mqttBytesPerAccount: 'mqtt_bytes_per_account',
}

/** Counted in this process only, whatever the engine: a connection lives on one node. */
const localOnly: ReadonlySet<LimitName> = new Set(['mqttPublishPerConnection'])

/** What one request or packet took from a limit. */
interface Taken {
  readonly limit: LimitName
  readonly allowed: boolean
  readonly remaining: number
  readonly msBeforeNext: number
}

/** The part of an aedes client the publish limits need. */
export interface PausableClient {
  pause(): void
  resume(): void
}

export interface RateLimitsOptions {
  readonly limits: Config['rateLimits']
  /** shared counters; undefined: this process's memory */
  readonly redisUrl: string | undefined
  readonly logger: Logger
  readonly now: () => Date
  /** each refusal (or slowdown), by limit (the metric) */
  readonly refused?: (limit: string) => void
}

/** What a limit a request takes from is, in a refusal's words. */
interface Check {
  readonly limit: LimitName
  readonly field: string
  readonly what: string
}

const loginChecks: readonly Check[] = [
  { limit: 'tokenPerAddress', field: 'client address', what: 'token requests and logins' },
  { limit: 'tokenPerEmail', field: 'email', what: 'token requests and logins for this e-mail' },
]

const apiChecks: readonly Check[] = [
  { limit: 'apiPerToken', field: 'Authorization', what: 'requests with this access token' },
  { limit: 'apiPerAccount', field: 'account_id', what: 'requests for this account' },
]

/** Points of an API limit taken from its count ahead of the requests that spend them. */
interface Lease {
  /** points taken and not yet spent */
  left: number
  /** what the count had left once this lease was taken */
  remaining: number
  /** when the count's window ends (ms since the epoch): a lease does not outlive it */
  resetsAt: number
  /** the next lease, while it is being taken */
  next: Promise<void> | undefined
}

const leaseShare = 64
const leaseMost = 64
/** beyond this many keys, the leases of ended windows are dropped */
const leasesKept = 10_000

function sweep(leases: Map<string, Lease>): void {
  const now = Date.now()
  for (const [key, lease] of leases) if (lease.resetsAt <= now && lease.next === undefined) leases.delete(key)
}

const ignore = (): void => undefined

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** the request is counted against the API limits */
      countedByLimits?: true
    }
  }
}

const routesWithLogins = new Set(['/oauth/token', '/login'])

export class RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterAbstract>()
  /** each API limit's leases, by key */
  private readonly leases = new Map<LimitName, Map<string, Lease>>([
    ['apiPerToken', new Map()],
    ['apiPerAccount', new Map()],
  ])
  /** each limit's `RateLimit-Policy` item, which never changes */
  private readonly policies = new Map<LimitName, string>()
  /** the `RateLimit-Policy` of every API request */
  private readonly apiPolicy: string
  private readonly redis: Redis | undefined
  /**
   * The limiter's key of each verified token: a hash, so that no token reaches Redis. Kept
   * by the principal the verifier answered for it (one object per token while it is in the
   * verifier's cache), so that it is made once per token, not per request.
   */
  private readonly tokenKeys = new WeakMap<Principal, string>()
  /** connections paused now, so one window pauses them once */
  private readonly paused = new WeakSet<PausableClient>()
  private readonly connectionIds = new WeakMap<PausableClient, string>()
  private nextConnectionId = 0

  constructor(private readonly options: RateLimitsOptions) {
    const { limits, redisUrl } = options
    // No offline queue: while Redis is away each call fails at once and the insurance
    // limiter (memory) answers, instead of requests waiting for a reconnection.
    this.redis = redisUrl ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false }) : undefined
    this.redis?.on('error', (error: Error) => options.logger.debug({ err: error }, 'rate limits: Redis unavailable, counting in memory'))
    for (const name of Object.keys(labelOf) as LimitName[]) {
      const limit: RateLimit = limits[name]
      this.policies.set(name, `"${labelOf[name]}";q=${limit.points};w=${limit.windowSeconds}`)
      const memory = new RateLimiterMemory({ points: limit.points, duration: limit.windowSeconds, keyPrefix: labelOf[name] })
      this.limiters.set(
        name,
        this.redis && !localOnly.has(name)
          ? new RateLimiterRedis({
              storeClient: this.redis,
              points: limit.points,
              duration: limit.windowSeconds,
              keyPrefix: `${limits.redisPrefix}:${labelOf[name]}`,
              insuranceLimiter: memory,
              rejectIfRedisNotReady: true,
            })
          : memory,
      )
    }
    this.apiPolicy = apiChecks.map((check) => this.policies.get(check.limit)!).join(', ')
  }

  /**
   * Resolves once the shared counters are reachable (at once without Redis). When Redis
   * does not answer within `timeoutMs` the node starts anyway, counting in memory until
   * it does, and says so: a limit is a protection, not a reason to stay down.
   */
  async ready(timeoutMs = 5000): Promise<void> {
    const redis = this.redis
    if (redis === undefined || redis.status === 'ready') return
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      redis.once('ready', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    if (!connected) this.options.logger.warn({}, 'rate limits: Redis does not answer; counting in this process until it does')
  }

  /** Takes `points` from the limit's budget for `key`. */
  async take(limit: LimitName, key: string, points = 1): Promise<Taken> {
    try {
      const res = await this.limiters.get(limit)!.consume(key, points)
      return { limit, allowed: true, remaining: res.remainingPoints, msBeforeNext: res.msBeforeNext }
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection
      this.options.refused?.(labelOf[limit])
      return { limit, allowed: false, remaining: 0, msBeforeNext: rejection.msBeforeNext }
    }
  }

  private refusal(taken: Taken, field: string, what: string): RateLimitedError {
    const { points, windowSeconds } = this.options.limits[taken.limit]
    const retryAfterSeconds = Math.max(1, Math.ceil(taken.msBeforeNext / 1000))
    const refusal: RateLimitRefusal = {
      name: labelOf[taken.limit],
      count: points,
      windowSeconds,
      resetAt: new Date(this.options.now().getTime() + taken.msBeforeNext).toISOString(),
      retryAfterSeconds,
    }
    return new RateLimitedError(
      `Too many ${what}: limit ${refusal.name} allows ${points} per ${windowSeconds} s; it resets in ${retryAfterSeconds} s`,
      retryAfterSeconds,
      { details: [{ field, problem: `more than ${points} ${what} per ${windowSeconds} s` }], refusal },
    )
  }

  /** `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10) for the limits a request took from. */
  private describe(res: Response, taken: readonly Taken[]): void {
    let policy = ''
    let state = ''
    for (const t of taken) {
      const separator = policy === '' ? '' : ', '
      policy += separator + this.policies.get(t.limit)!
      state += `${separator}"${labelOf[t.limit]}";r=${t.remaining};t=${Math.max(0, Math.ceil(t.msBeforeNext / 1000))}`
    }
    res.setHeader('RateLimit-Policy', policy)
    res.setHeader('RateLimit', state)
  }

  /** The answer to a request that took `taken` from the limits `checks` name: the headers, and the refusal if one refused it. */
  private verdict(res: Response, checks: readonly Check[], taken: readonly Taken[]): RateLimitedError | undefined {
    this.describe(res, taken)
    const refused = taken.findIndex((t) => !t.allowed)
    if (refused < 0) return undefined
    const check = checks[refused]!
    this.options.logger.info({ limit: labelOf[check.limit] }, 'HTTP request refused by a rate limit')
    return this.refusal(taken[refused]!, check.field, check.what)
  }

  /** In front of the routes (after body parsing): token requests and logins per client address and per e-mail. */
  readonly logins: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || !routesWithLogins.has(req.path)) return next()
    const body = (req.body ?? {}) as Record<string, unknown>
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : typeof body.username === 'string' ? body.username.trim().toLowerCase() : ''
    const checks = email === '' ? loginChecks.slice(0, 1) : loginChecks
    const keys = [req.ip ?? 'unknown', email]
    Promise.all(checks.map((check, i) => this.take(check.limit, keys[i]!))).then((taken) => next(this.verdict(res, checks, taken)), next)
  }

  /**
   * After the bearer check: the API per access token and per account. Counted from leases
   * (`spend`), so that a request far from its limits goes on at once.
   */
  readonly api: RequestHandler = (req, res, next) => {
    // a route may pass the bearer check twice; its request counts once
    if (res.locals.countedByLimits) return next()
    res.locals.countedByLimits = true
    const principal = principalOf(req)
    const tokenKey = this.tokenKeyOf(req, principal)
    // The common case: both leases have points left. Spent here without the general path's objects.
    const now = Date.now()
    const byToken = this.leaseOf('apiPerToken', tokenKey)
    const byAccount = this.leaseOf('apiPerAccount', principal.accountId)
    if (byToken.left > 0 && byAccount.left > 0 && now < byToken.resetsAt && now < byAccount.resetsAt) {
      byToken.left--
      byAccount.left--
      res.setHeader('RateLimit-Policy', this.apiPolicy)
      res.setHeader(
        'RateLimit',
        `"${labelOf.apiPerToken}";r=${byToken.remaining + byToken.left};t=${Math.ceil((byToken.resetsAt - now) / 1000)}, ` +
          `"${labelOf.apiPerAccount}";r=${byAccount.remaining + byAccount.left};t=${Math.ceil((byAccount.resetsAt - now) / 1000)}`,
      )
      return next()
    }
    const taken = [this.spend('apiPerToken', tokenKey), this.spend('apiPerAccount', principal.accountId)]
    Promise.all(taken).then((taken) => next(this.verdict(res, apiChecks, taken)), next)
  }

  private leaseOf(limit: LimitName, key: string): Lease {
    const leases = this.leases.get(limit)!
    let lease = leases.get(key)
    if (lease === undefined) {
      if (leases.size >= leasesKept) sweep(leases)
      leases.set(key, (lease = { left: 0, remaining: 0, resetsAt: 0, next: undefined }))
    }
    return lease
  }

  /**
   * One point of an API limit for `key`, from the key's lease when it has points left (at
   * once), else from a new lease taken from the limiter (a promise; the requests that come
   * meanwhile wait for the same one). A lease is a 64th of what the count had left, at
   * most 64 points, and a single point when nothing is known of the window: near the limit
   * every request is taken one by one, so one node refuses exactly at the limit, and nodes
   * sharing Redis refuse at most a lease early.
   */
  private spend(limit: LimitName, key: string): Taken | Promise<Taken> {
    const lease = this.leaseOf(limit, key)
    const now = Date.now()
    const known = now < lease.resetsAt
    if (known && lease.left > 0) {
      lease.left--
      return { limit, allowed: true, remaining: lease.remaining + lease.left, msBeforeNext: lease.resetsAt - now }
    }
    if (lease.next) return lease.next.then(() => this.spend(limit, key))
    const size = known ? Math.min(leaseMost, Math.max(1, Math.floor(lease.remaining / leaseShare))) : 1
    const taken = this.take(limit, key, size).then(
      (taken): Taken => {
        lease.next = undefined
        lease.resetsAt = Date.now() + taken.msBeforeNext
        lease.left = taken.allowed ? size - 1 : 0
        lease.remaining = taken.remaining
        return { ...taken, remaining: taken.remaining + lease.left }
      },
      (error: unknown) => {
        lease.next = undefined
        throw error
      },
    )
    lease.next = taken.then(ignore, ignore)
    return taken
  }

  private tokenKeyOf(req: Request, principal: Principal): string {
    let key = this.tokenKeys.get(principal)
    if (key === undefined) {
      key = createHash('sha256').update(bearerTokenOf(req) ?? '').digest('base64url').slice(0, 22)
      this.tokenKeys.set(principal, key)
    }
    return key
  }

  /** An MQTT CONNECT: the reason it is refused (CONNACK 3), or undefined when it may go on. */
  async admitConnect(address: string, username: string | undefined): Promise<string | undefined> {
    const byAddress = await this.take('mqttConnectPerAddress', address)
    if (!byAddress.allowed) return `more than ${this.options.limits.mqttConnectPerAddress.points} CONNECTs per ${this.options.limits.mqttConnectPerAddress.windowSeconds} s from ${address}`
    if (username === undefined) return undefined
    const byUsername = await this.take('mqttConnectPerUsername', username)
    if (!byUsername.allowed) return `more than ${this.options.limits.mqttConnectPerUsername.points} CONNECTs per ${this.options.limits.mqttConnectPerUsername.windowSeconds} s with user name ${username}`
    return undefined
  }

  /**
   * A PUBLISH a connection sent: counted per connection and its bytes per account; over
   * either, the connection is paused until the window resets. The packet itself goes on.
   */
  published(client: PausableClient, accountId: string, bytes: number): void {
    let connection = this.connectionIds.get(client)
    if (connection === undefined) this.connectionIds.set(client, (connection = String(this.nextConnectionId++)))
    Promise.all([this.take('mqttPublishPerConnection', connection), this.take('mqttBytesPerAccount', accountId, Math.max(1, bytes))]).then(
      (taken) => {
        const over = taken.filter((t) => !t.allowed)
        if (over.length === 0 || this.paused.has(client)) return
        const pauseMs = Math.max(...over.map((t) => t.msBeforeNext))
        this.paused.add(client)
        client.pause()
        this.options.logger.info({ limits: over.map((t) => labelOf[t.limit]), pauseMs }, 'MQTT connection slowed down by a rate limit')
        setTimeout(() => {
          this.paused.delete(client)
          client.resume()
        }, pauseMs).unref()
      },
      (error: unknown) => this.options.logger.warn({ err: error }, 'rate limits: a publish could not be counted'),
    )
  }

  async close(): Promise<void> {
    if (this.redis && this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis?.disconnect())
  }
}
