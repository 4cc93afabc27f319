/**
 * TelemetryStream on Kafka, through kafkajs 2.2.4 (the design card's client).
 *
 * - One topic, created at start with `partitions` partitions when it does not exist (an
 *   existing topic keeps its own count, which then is the stream's partitionCount).
 * - Records are keyed by thing id and placed with kafkajs's DefaultPartitioner (murmur2,
 *   the Java client's), computed here so that partitionFor() and produce() always agree.
 * - The producer is idempotent with acks from all in-sync replicas (-1) and one request in
 *   flight. Produces are queued and sent one send() at a time, in order, the produces of
 *   one turn of the event loop together: offsets come back dense and in produce order.
 * - A consumer is one kafkajs consumer in the group, autoCommit off, eachBatch: each slice
 *   of at most maxBatch records goes to the handler, and its offsets are committed only
 *   after the handler resolved. A handler that throws stops that consumer (onError) with
 *   nothing committed, so the batch is delivered again to whoever consumes the group next.
 * - seek() moves a group's committed offset with the admin API (setOffsets; by time through
 *   fetchTopicOffsetsByTimestamp). Kafka accepts that only while the group has no active
 *   member: stop the group's consumers, seek, start them again.
 */
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type Message,
  type PartitionMetadata,
  type Producer,
} from 'kafkajs'
import type {
  ConsumeOptions,
  SeekTarget,
  TelemetryBatch,
  TelemetryConsumer,
  TelemetryRecord,
  TelemetryRecordToProduce,
  TelemetryStream,
} from '../../domain/ports/telemetry-stream.ts'

export interface KafkaTelemetryStreamOptions {
  /** host:port of one or more brokers */
  readonly brokers: readonly string[]
  readonly topic: string
  /** partitions of the topic when this adapter creates it */
  readonly partitions: number
  /** replication factor of the topic when this adapter creates it (-1: the broker's default) */
  readonly replicationFactor?: number
  /** prepended to every consumer group id ('' by default) */
  readonly groupIdPrefix?: string
  readonly clientId?: string
  /** how long the group waits for a silent (crashed) member before reassigning its partitions */
  readonly sessionTimeoutMs?: number
}

interface PendingProduce {
  readonly records: readonly TelemetryRecordToProduce[]
  readonly resolve: (result: { partition: number; offset: number }[]) => void
  readonly reject: (error: unknown) => void
}

export class KafkaTelemetryStream implements TelemetryStream {
  private readonly partitioner = Partitioners.DefaultPartitioner()
  private readonly partitionMetadata: PartitionMetadata[]
  private pending: PendingProduce[] = []
  /** the send in progress and those queued behind it, in order */
  private sending: Promise<void> = Promise.resolve()
  private flushScheduled = false
  private readonly consumers = new Set<TelemetryConsumer>()
  private closed = false

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly options: KafkaTelemetryStreamOptions,
    readonly partitionCount: number,
  ) {
    this.partitionMetadata = Array.from({ length: partitionCount }, (_, partition) => ({
      partitionId: partition,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [],
      isr: [],
    })) as unknown as PartitionMetadata[]
  }

  /** Connects, creates the topic when missing, and learns its partition count. */
  static async open(options: KafkaTelemetryStreamOptions): Promise<KafkaTelemetryStream> {
    const kafka = new Kafka({
      clientId: options.clientId ?? 'capsicum',
      brokers: [...options.brokers],
      logLevel: logLevel.WARN,
    })
    const admin = kafka.admin()
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    try {
      await admin.connect()
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: options.topic, numPartitions: options.partitions, replicationFactor: options.replicationFactor ?? -1 }],
      })
      const metadata = await admin.fetchTopicMetadata({ topics: [options.topic] })
      const partitionCount = metadata.topics[0]?.partitions.length ?? 0
      if (partitionCount < 1) throw new Error(`Kafka topic ${options.topic} has no partitions`)
      await producer.connect()
      return new KafkaTelemetryStream(kafka, admin, producer, options, partitionCount)
    } catch (error) {
      await producer.disconnect().catch(() => {})
      await admin.disconnect().catch(() => {})
      throw error
    }
  }

  partitionFor(key: string): number {
    return this.partitioner({ topic: this.options.topic, partitionMetadata: this.partitionMetadata, message: { key, value: null } })
  }

  produce(records: readonly TelemetryRecordToProduce[]): Promise<{ partition: number; offset: number }[]> {
    if (this.closed) return Promise.reject(new Error('telemetry stream is closed'))
    // A record Kafka could not carry is refused here, before anything is sent, so it never
    // takes the records queued beside it down with it.
    const bad = records.find((r) => !Number.isSafeInteger(r.timestamp) || r.timestamp < 0 || typeof r.key !== 'string')
    if (bad) return Promise.reject(new RangeError(`A telemetry record needs a key and a whole, non-negative timestamp (got ${bad.timestamp})`))
    return new Promise((resolve, reject) => {
      this.pending.push({ records, resolve, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        setImmediate(() => {
          this.flushScheduled = false
          const batch = this.pending
          this.pending = []
          this.sending = this.sending.then(() => this.send(batch))
        })
      }
    })
  }

  /** One send() for every produce of a turn; offsets per record from each partition's base offset. */
  private async send(batch: readonly PendingProduce[]): Promise<void> {
    if (batch.length === 0) return
    const placed = batch.map((produce) => produce.records.map((record) => this.partitionFor(record.key)))
    const messages: Message[] = batch.flatMap((produce, i) =>
      produce.records.map((record, j) => ({
        key: record.key,
        value: record.value,
        partition: placed[i]![j]!,
        timestamp: String(record.timestamp),
      })),
    )
    try {
      const metadata = messages.length === 0 ? [] : await this.producer.send({ topic: this.options.topic, acks: -1, messages })
      const next = new Map<number, number>()
      for (const entry of metadata) next.set(entry.partition, Number(entry.baseOffset ?? entry.offset))
      batch.forEach((produce, i) =>
        produce.resolve(
          placed[i]!.map((partition) => {
            const offset = next.get(partition)
            if (offset === undefined) throw new Error(`Kafka did not acknowledge partition ${partition}`)
            next.set(partition, offset + 1)
            return { partition, offset }
          }),
        ),
      )
    } catch (error) {
      for (const produce of batch) produce.reject(error)
    }
  }

  consume(options: ConsumeOptions, handler: (batch: TelemetryBatch) => Promise<void>): TelemetryConsumer {
    const maxBatch = options.maxBatch ?? 1000
    const topic = this.options.topic
    const consumer: Consumer = this.kafka.consumer({
      groupId: this.groupId(options.groupId),
      allowAutoTopicCreation: false,
      ...(this.options.sessionTimeoutMs === undefined ? {} : { sessionTimeout: this.options.sessionTimeoutMs }),
    })
    let stopped = false
    let failed = false

    const fail = (error: unknown): void => {
      if (failed) return
      failed = true
      // Nothing more for this consumer: pause, leave the group (after eachBatch returns).
      try {
        consumer.pause([{ topic }])
      } catch {
        // not running yet (connect or subscribe failed): nothing to pause
      }
      setImmediate(() => void consumer.disconnect().catch(() => {}))
      if (options.onError) options.onError(error)
    }

    const started = (async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          for (let from = 0; from < batch.messages.length; from += maxBatch) {
            if (stopped || failed || !isRunning() || isStale()) return
            const slice = batch.messages.slice(from, from + maxBatch)
            const records: TelemetryRecord[] = slice.map((message) => ({
              partition: batch.partition,
              offset: Number(message.offset),
              key: message.key?.toString('utf8') ?? '',
              value: message.value?.toString('utf8') ?? '',
              timestamp: Number(message.timestamp),
            }))
            try {
              await handler({ partition: batch.partition, records })
            } catch (error) {
              fail(error)
              return
            }
            const last = slice[slice.length - 1]!.offset
            resolveOffset(last)
            await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(last) + 1) }])
            await heartbeat()
          }
        },
      })
    })().catch((error: unknown) => fail(error))

    const handle: TelemetryConsumer = {
      stop: async () => {
        stopped = true
        this.consumers.delete(handle)
        await started
        // Waits for the batch in flight; its offsets were committed if its handler resolved.
        await consumer.disconnect().catch(() => {})
      },
    }
    this.consumers.add(handle)
    return handle
  }

  async seek(groupId: string, partition: number, target: SeekTarget): Promise<void> {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RangeError(`partition must be between 0 and ${this.partitionCount - 1}`)
    }
    const topic = this.options.topic
    const bounds = (await this.admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)
    if (!bounds) throw new Error(`Kafka topic ${topic} has no partition ${partition}`)
    const low = Number(bounds.low)
    const high = Number(bounds.high)
    let offset: number
    if ('offset' in target) {
      offset = target.offset
    } else {
      // The first record at or after the time, or the end when there is none.
      const found = (await this.admin.fetchTopicOffsetsByTimestamp(topic, target.timestamp)).find((p) => p.partition === partition)
      offset = found ? Number(found.offset) : high
    }
    offset = Math.max(low, Math.min(offset, high))
    await this.admin.setOffsets({ groupId: this.groupId(groupId), topic, partitions: [{ partition, offset: String(offset) }] })
  }

  async endOffsets(): Promise<Map<number, number>> {
    const partitions = await this.admin.fetchTopicOffsets(this.options.topic)
    return new Map(partitions.map((p) => [p.partition, Number(p.high)]))
  }

  async committedOffsets(groupId: string): Promise<Map<number, number>> {
    const topics = await this.admin.fetchOffsets({ groupId: this.groupId(groupId), topics: [this.options.topic] })
    const offsets = new Map<number, number>()
    for (const { partition, offset } of topics[0]?.partitions ?? []) {
      const next = Number(offset)
      if (next >= 0) offsets.set(partition, next) // -1: the group has committed nothing there
    }
    return offsets
  }

  async ping(): Promise<void> {
    await this.admin.describeCluster()
  }

  /** Sends what is queued, stops the consumers, disconnects. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      this.sending = this.sending.then(() => this.send(batch))
    }
    await this.sending
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.stop()))
    await this.producer.disconnect()
    await this.admin.disconnect()
  }

  private groupId(groupId: string): string {
    return `${this.options.groupIdPrefix ?? ''}${groupId}`
  }
}
