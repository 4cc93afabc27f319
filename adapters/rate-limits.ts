/**
 * Rate limits and quotas, with rate-limiter-flexible (fixed windows per key): in this
 * process's memory, or in Redis when REDIS_URL is set so that every node counts against
 * the same budget (a Redis outage falls back to the in-memory count, the library's
 * insurance limiter, rather than letting everything through or refusing everything).
 *
 * - HTTP: `/oauth/token` and the login form per client address and per e-mail, in front
 *   of the routes (beyond the lockout the grant code keeps); the API per access token and
 *   per account, once the bearer token is verified. A refusal is a 429 (`RateLimitedError`).
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
import { bearerTokenOf, principalOf } from '../commands/http/auth.ts'
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

const tokenKeysKept = 4096

/** Marks a request counted against the API limits. */
const counted = Symbol('counted against the API limits')
type Counted = Request & { [counted]?: true }

const routesWithLogins = new Set(['/oauth/token', '/login'])

export class RateLimits {
  private readonly limiters = new Map<LimitName, RateLimiterAbstract>()
  private readonly redis: Redis | undefined
  /** the limiter's key of each token seen lately: a hash, so that no token reaches Redis (made once per token, not per request) */
  private readonly tokenKeys = new Map<string, string>()
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
    res.setHeader(
      'RateLimit-Policy',
      taken.map((t) => `"${labelOf[t.limit]}";q=${this.options.limits[t.limit].points};w=${this.options.limits[t.limit].windowSeconds}`).join(', '),
    )
    res.setHeader('RateLimit', taken.map((t) => `"${labelOf[t.limit]}";r=${t.remaining};t=${Math.max(0, Math.ceil(t.msBeforeNext / 1000))}`).join(', '))
  }

  private async check(res: Response, checks: readonly { limit: LimitName; key: string; field: string; what: string }[]): Promise<RateLimitedError | undefined> {
    const taken = await Promise.all(checks.map((c) => this.take(c.limit, c.key)))
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
    const email = typeof body.email === 'string' ? body.email : typeof body.username === 'string' ? body.username : undefined
    const checks: { limit: LimitName; key: string; field: string; what: string }[] = [{ limit: 'tokenPerAddress', key: req.ip ?? 'unknown', field: 'client address', what: 'token requests and logins' }]
    if (email !== undefined && email.trim() !== '') {
      checks.push({ limit: 'tokenPerEmail', key: email.trim().toLowerCase(), field: 'email', what: 'token requests and logins for this e-mail' })
    }
    this.check(res, checks).then((error) => next(error), next)
  }

  /** After the bearer check: the API per access token and per account. */
  readonly api: RequestHandler = (req, res, next) => {
    // a route may pass the bearer check twice; its request counts once
    if ((req as Counted)[counted]) return next()
    ;(req as Counted)[counted] = true
    const tokenKey = this.tokenKeyOf(bearerTokenOf(req) ?? '')
    this.check(res, [
      { limit: 'apiPerToken', key: tokenKey, field: 'Authorization', what: 'requests with this access token' },
      { limit: 'apiPerAccount', key: principalOf(req).accountId, field: 'account_id', what: 'requests for this account' },
    ]).then((error) => next(error), next)
  }

  private tokenKeyOf(token: string): string {
    let key = this.tokenKeys.get(token)
    if (key === undefined) {
      if (this.tokenKeys.size >= tokenKeysKept) this.tokenKeys.clear()
      key = createHash('sha256').update(token).digest('base64url').slice(0, 22)
      this.tokenKeys.set(token, key)
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
