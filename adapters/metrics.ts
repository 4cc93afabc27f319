/**
 * The operator's metrics: one prom-client registry per server, served as `GET /metrics`
 * in the Prometheus text format. Counters and histograms are fed as things happen (the
 * HTTP middleware, the MQTT broker's hooks, the event store's commits, the core's
 * `Instruments`); lags are read when Prometheus scrapes (`collect`), from state the
 * followers keep anyway, so nothing is computed between scrapes.
 */
import { timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Request, RequestHandler, Response } from 'express'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { EventStore } from '../domain/ports/event-store.ts'
import type { Instruments } from '../domain/ports/instruments.ts'
import type { TelemetryStream } from '../domain/ports/telemetry-stream.ts'

/** How far one follower of the event log has read: its checkpoint's position. */
export interface FollowerPosition {
  readonly name: string
  readonly position: number | null
}

export interface MetricsSources {
  readonly eventStore: EventStore
  readonly telemetry: TelemetryStream
  /**
   * The one place follower positions are read (the projections' and the reading
   * history's checkpoints); lag per follower is the log's head minus this.
   */
  readonly followerPositions: () => Promise<readonly FollowerPosition[]>
  /** consumer groups of the telemetry stream whose lag is reported */
  readonly telemetryGroups: readonly string[]
  readonly now: () => Date
}

/** What the MQTT broker reports. */
export interface MqttInstruments {
  connectionOpened(): void
  connectionClosed(): void
  connectRefused(reason: string): void
  published(topicKind: string, qos: number): void
}

/** Route label of a request no route matched: raw paths would make the labels unbounded. */
export const unmatchedRoute = 'unmatched'

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

type HttpLabel = 'route' | 'method' | 'status'

/** One series of the HTTP latency histogram: its labels, its bucket counts (not cumulative), sum and count. */
interface LatencySeries {
  readonly labels: Record<HttpLabel, string>
  readonly counts: Float64Array
  sum: number
  count: number
}

/** Requests no express route answered: keyed by this object instead of a route's. */
const noRoute = {}

/**
 * The HTTP latency histogram, by route template, method and status, fed once per answer.
 * prom-client's `observe` builds, validates and hashes a label object each time (about
 * 1.5 µs of a 100 µs request in the server); here an answer finds its series through the
 * express route object that matched (a map per route, by method, status and mount path)
 * and adds to a typed array. Scrapes read it through prom-client's own exposition, in
 * the shape its histograms give.
 */
class HttpLatencyHistogram {
  readonly name = 'capsicum_http_request_duration_seconds'
  readonly help = 'time from a request to the end of its answer, by route template, method and status'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private byRoute = new WeakMap<object, Map<string, LatencySeries>>()
  private all: LatencySeries[] = []

  constructor(registry: Registry) {
    // prom-client's registry asks a metric only for get() (and reset()): this is one, not a Histogram instance
    registry.registerMetric(this as unknown as Histogram)
  }

  answered(req: Request, status: number, seconds: number): void {
    const route = req.route as { path?: unknown } | undefined
    const key = route && typeof route.path === 'string' ? route : noRoute
    let series = this.byRoute.get(key)
    if (series === undefined) this.byRoute.set(key, (series = new Map()))
    const name = `${req.method} ${status} ${req.baseUrl}`
    let one = series.get(name)
    if (one === undefined) {
      one = { labels: { route: routeOf(req), method: req.method, status: String(status) }, counts: new Float64Array(latencyBuckets.length + 1), sum: 0, count: 0 }
      series.set(name, one)
      this.all.push(one)
    }
    let bucket = 0
    while (bucket < latencyBuckets.length && seconds > latencyBuckets[bucket]!) bucket++
    one.counts[bucket]!++
    one.sum += seconds
    one.count++
  }

  /** The series as prom-client's histograms give them: cumulative `_bucket`s by `le`, then `_sum` and `_count`. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] }> {
    const values = []
    for (const { labels, counts, sum, count } of this.all) {
      let cumulative = 0
      for (let i = 0; i < latencyBuckets.length; i++) {
        cumulative += counts[i]!
        values.push({ metricName: `${this.name}_bucket`, labels: { le: latencyBuckets[i]!, ...labels }, value: cumulative })
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: count })
      values.push({ metricName: `${this.name}_sum`, labels, value: sum })
      values.push({ metricName: `${this.name}_count`, labels, value: count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.all = []
    this.byRoute = new WeakMap()
  }
}

/** The route label: express's matched route template, a few shell paths by name, else `unmatched`. */
function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined
  if (route && typeof route.path === 'string') return req.baseUrl === '' ? route.path : `${req.baseUrl}${route.path}`
  if (req.baseUrl === '/docs') return '/docs'
  return unmatchedRoute
}

export class Metrics implements Instruments, MqttInstruments {
  readonly registry = new Registry()
  private readonly httpRequests: Counter<HttpLabel>
  private readonly httpDuration: HttpLatencyHistogram
  private readonly mqttConnections: Gauge
  private readonly mqttRefused: Counter<'reason'>
  /**
   * device publishes by topic kind, then by QoS: counted here and handed to prom-client when
   * Prometheus scrapes (`inc` with labels builds, validates and hashes a label object, on
   * every publish)
   */
  private readonly publishes = new Map<string, number[]>()
  private readonly readingsRecorded: Counter
  private readonly readingsRejected: Counter
  private readonly appendDuration: Histogram
  private readonly commitAppends: Histogram
  private readonly schedulerLateness: Histogram
  private readonly deliveries: Counter<'channel' | 'outcome'>
  private readonly deadLetters: Counter<'channel'>
  private readonly refusals: Counter<'limit'>

  constructor(sources: MetricsSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    const httpDuration = (this.httpDuration = new HttpLatencyHistogram(this.registry))
    this.httpRequests = new Counter({
      name: 'capsicum_http_requests_total',
      help: 'HTTP requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
      // Each series counts what its latency histogram counted: one update per request, not two.
      async collect() {
        const { values } = await httpDuration.get()
        this.reset()
        for (const { metricName, labels, value } of values) {
          if (metricName === 'capsicum_http_request_duration_seconds_count') this.inc(labels as Record<HttpLabel, string>, value)
        }
      },
    })
    this.mqttConnections = new Gauge({ name: 'capsicum_mqtt_connections', help: 'MQTT connections open (CONNACK accepted) on this node', registers })
    this.mqttRefused = new Counter({ name: 'capsicum_mqtt_connects_refused_total', help: 'MQTT CONNECTs refused, by reason', labelNames: ['reason'], registers })
    const publishes = this.publishes
    new Counter({
      name: 'capsicum_mqtt_publishes_total',
      help: 'PUBLISH packets from devices, by topic kind and QoS',
      labelNames: ['kind', 'qos'],
      registers,
      collect() {
        this.reset()
        for (const [kind, byQos] of publishes) byQos.forEach((count, qos) => this.inc({ kind, qos: String(qos) }, count))
      },
    })
    this.readingsRecorded = new Counter({ name: 'capsicum_readings_recorded_total', help: 'readings recorded (SensorReadingsRecorded) by the telemetry processor', registers })
    this.readingsRejected = new Counter({ name: 'capsicum_readings_rejected_total', help: 'telemetry messages that could not be read, kept as rejected', registers })
    this.appendDuration = new Histogram({
      name: 'capsicum_eventstore_append_duration_seconds',
      help: 'time from an append to its durable commit (SQLite group commit included)',
      buckets: latencyBuckets,
      registers,
    })
    this.commitAppends = new Histogram({
      name: 'capsicum_eventstore_commit_appends',
      help: 'appends sharing one SQLite transaction and fsync (group commit batch size)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    })
    this.schedulerLateness = new Histogram({
      name: 'capsicum_scheduler_lateness_seconds',
      help: 'how long after its occurrence was due a job run was recorded',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 60, 300],
      registers,
    })
    this.deliveries = new Counter({ name: 'capsicum_deliveries_total', help: 'delivery attempts, by channel and outcome', labelNames: ['channel', 'outcome'], registers })
    this.deadLetters = new Counter({ name: 'capsicum_dead_letters_total', help: 'deliveries given up (dead-lettered), by channel', labelNames: ['channel'], registers })
    this.refusals = new Counter({ name: 'capsicum_rate_limited_total', help: 'requests, CONNECTs and publishes refused or slowed by a rate limit, by limit', labelNames: ['limit'], registers })

    const { eventStore, telemetry, followerPositions, telemetryGroups, now } = sources
    new Gauge({
      name: 'capsicum_projection_lag_events',
      help: 'log positions a follower of the event log has still to read (head minus checkpoint)',
      labelNames: ['projection'],
      registers,
      async collect() {
        this.reset()
        const head = (await eventStore.headPosition()) ?? 0
        for (const { name, position } of await followerPositions()) this.set({ projection: name }, Math.max(0, head - (position ?? 0)))
      },
    })
    new Gauge({
      name: 'capsicum_projection_lag_seconds',
      help: 'age of the oldest event a follower has still to read (0 when caught up)',
      labelNames: ['projection'],
      registers,
      async collect() {
        this.reset()
        const head = (await eventStore.headPosition()) ?? 0
        for (const { name, position } of await followerPositions()) {
          if ((position ?? 0) >= head) {
            this.set({ projection: name }, 0)
            continue
          }
          const [next] = await eventStore.readAll({ fromPosition: position, maxCount: 1 })
          const at = next ? Date.parse(next.metadata.time) : NaN
          this.set({ projection: name }, Number.isNaN(at) ? 0 : Math.max(0, (now().getTime() - at) / 1000))
        }
      },
    })
    new Gauge({
      name: 'capsicum_telemetry_consumer_lag',
      help: 'telemetry records a consumer group has still to process, per partition',
      labelNames: ['group', 'partition'],
      registers,
      async collect() {
        this.reset()
        const ends = await telemetry.endOffsets()
        for (const group of telemetryGroups) {
          const committed = await telemetry.committedOffsets(group)
          for (const [partition, end] of ends) this.set({ group, partition: String(partition) }, Math.max(0, end - (committed.get(partition) ?? 0)))
        }
      },
    })
  }

  /** Counts an answer by the route that matched, with its duration (the request log tells): one histogram update, which the request counter reads at scrape time. */
  readonly completed = (req: Request, res: Response, seconds: number): void => {
    this.httpDuration.answered(req, res.statusCode, seconds)
  }

  /** `GET /metrics`. `authorize` throws (an UnauthenticatedError, a ForbiddenError) for who may not read it. */
  handler(authorize: (req: Request) => void): RequestHandler {
    return (req, res, next) => {
      try {
        authorize(req)
      } catch (error) {
        return next(error)
      }
      this.registry.metrics().then(
        (text) => {
          res.setHeader('Content-Type', this.registry.contentType)
          res.setHeader('Cache-Control', 'no-store')
          res.end(text)
        },
        (error: unknown) => next(error),
      )
    }
  }

  // Instruments (the core)
  telemetryRecorded(readings: number, rejected: number): void {
    if (readings > 0) this.readingsRecorded.inc(readings)
    if (rejected > 0) this.readingsRejected.inc(rejected)
  }

  jobRunLate(seconds: number): void {
    this.schedulerLateness.observe(Math.max(0, seconds))
  }

  deliveryAttempted(channel: string, outcome: string, dead: boolean): void {
    this.deliveries.inc({ channel, outcome })
    if (dead) this.deadLetters.inc({ channel })
  }

  // MQTT
  connectionOpened(): void {
    this.mqttConnections.inc()
  }

  connectionClosed(): void {
    this.mqttConnections.dec()
  }

  connectRefused(reason: string): void {
    this.mqttRefused.inc({ reason })
  }

  published(topicKind: string, qos: number): void {
    let byQos = this.publishes.get(topicKind)
    if (byQos === undefined) this.publishes.set(topicKind, (byQos = []))
    byQos[qos] = (byQos[qos] ?? 0) + 1
  }

  // the event store
  appended(seconds: number): void {
    this.appendDuration.observe(seconds)
  }

  committed(appends: number): void {
    this.commitAppends.observe(appends)
  }

  // rate limits
  rateLimited(limit: string): void {
    this.refusals.inc({ limit })
  }
}

/** True when an Authorization header is `Bearer <token>` (compared in constant time). */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const header = authorization ?? ''
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7).trim() : '')
  const expected = Buffer.from(token)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** `/metrics` on a listener of its own (METRICS_PORT); everything else there is a 404. */
export async function listenForMetrics(metrics: Metrics, options: { host: string; port: number; token: string | undefined }): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    const allowed = options.token === undefined || bearerMatches(req.headers.authorization, options.token)
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'route_not_found', message: `No route for ${req.method} ${path}`, details: [] }))
      return
    }
    if (!allowed) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm="metrics"' })
      res.end(JSON.stringify({ error: 'unauthenticated', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', details: [{ field: 'Authorization', problem: 'must be the metrics token' }] }))
      return
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'internal_error', message: 'metrics could not be collected', details: [] })),
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
