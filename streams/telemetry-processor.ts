/**
 * The telemetry processor: consumes the telemetry stream per partition and turns each
 * record into events of its thing's `telemetry-<thingId>` stream (telemetryDecider), then
 * records the answers devices gave to commands on the thing, then hands the batch's
 * readings to every ReadingHook (the rules core), in order. The stream commits the
 * batch's offsets only after all of that succeeded.
 *
 * At least once, recorded once: a batch delivered again after a crash is recognised per
 * thing by the last record its stream holds (a thing lives in one partition, where
 * offsets grow), so no reading is recorded twice. Hooks see every reading of the batch,
 * the redelivered ones too: they recognise them by key. All appends of a batch are issued
 * in one turn of the event loop, which the SQLite event store commits as one transaction.
 */
import type { EventMetadata, EventStore, EventToAppend } from '../commands/event-store.ts'
import type { Logger } from '../commands/logger.ts'
import { Backoff } from '../commands/log-follower.ts'
import { recordCommandOutcome } from '../commands/thing/record-command-outcome.ts'
import { NotFoundError } from '../domain/errors.ts'
import {
  commandOutcomeOf,
  telemetryDecider,
  telemetryKey,
  telemetryStreamOf,
  type TelemetryEvent,
  type TelemetryState,
} from '../domain/telemetry/telemetry.ts'
import type { ReadingHook, RecordedReading } from './reading-hook.ts'
import type { TelemetryMessage } from './telemetry-message.ts'
import type { TelemetryBatch, TelemetryConsumer, TelemetryRecord, TelemetryStream } from './telemetry-stream.ts'

export interface TelemetryProcessorOptions {
  readonly telemetry: TelemetryStream
  readonly eventStore: EventStore
  readonly hooks: readonly ReadingHook[]
  /** with debug: answers to no command of ours are logged at that level */
  readonly logger: Logger & { debug(object: object, message: string): void }
  readonly newId: () => string
  readonly groupId?: string
  readonly maxBatch?: number
  /** first pause after a failed batch; doubles up to 30 s */
  readonly retryDelayMs?: number
}

/** A thing's telemetry stream as far as the processor knows it. */
interface Known {
  readonly state: TelemetryState
  /** the stream's last revision; -1 when it has no event */
  readonly revision: number
}

const kinds = new Set<TelemetryMessage['kind']>(['readings', 'response', 'sys', 'connected', 'disconnected', 'rejected'])

/** The message of a record; undefined when it is not one (the bridge never writes such a record). */
function messageOf(record: TelemetryRecord): TelemetryMessage | undefined {
  try {
    const message = JSON.parse(record.value) as TelemetryMessage
    if (typeof message !== 'object' || message === null || !kinds.has(message.kind) || typeof message.thingId !== 'string') return undefined
    if (typeof message.accountId !== 'string' || Number.isNaN(Date.parse(message.receivedAt))) return undefined
    return message
  } catch {
    return undefined
  }
}

class Stopped extends Error {}

const maxKnownThings = 100_000

export class TelemetryProcessor {
  readonly groupId: string
  private consumer: TelemetryConsumer | undefined
  private stopping = false
  private readonly backoff: Backoff
  /** per thing: its stream's last recorded record and revision, loaded on first sight */
  private readonly known = new Map<string, Known>()

  constructor(private readonly options: TelemetryProcessorOptions) {
    this.groupId = options.groupId ?? 'telemetry-processor'
    this.backoff = new Backoff({ firstDelayMs: options.retryDelayMs ?? 500, maxDelayMs: 30_000 })
  }

  start(): void {
    this.stopping = false
    const { telemetry, logger } = this.options
    this.consumer = telemetry.consume(
      {
        groupId: this.groupId,
        maxBatch: this.options.maxBatch ?? 1000,
        onError: (error) => {
          if (!(error instanceof Stopped)) logger.error({ err: error }, 'telemetry processor stopped on an error')
        },
      },
      (batch) => this.handleUntilDone(batch),
    )
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.backoff.wakeAll()
    await this.consumer?.stop()
    this.consumer = undefined
  }

  /** Processes one batch once: records, answers, hooks. Throws when any of it failed (the batch comes again). */
  async handle(batch: TelemetryBatch): Promise<void> {
    const records: { record: TelemetryRecord; message: TelemetryMessage }[] = []
    for (const record of batch.records) {
      const message = messageOf(record)
      if (message) records.push({ record, message })
      else this.options.logger.error({ partition: record.partition, offset: record.offset, key: record.key }, 'telemetry record is no telemetry message: skipped')
    }
    const thingIds = [...new Set(records.map((r) => r.message.thingId))]
    await Promise.all(thingIds.filter((id) => !this.known.has(id)).map((id) => this.load(id)))

    // Decide every record against its thing's state, in stream order.
    const states = new Map<string, Known>(thingIds.map((id) => [id, this.known.get(id)!]))
    const pending = new Map<string, EventToAppend[]>()
    const readings: RecordedReading[] = []
    const responses: Extract<TelemetryMessage, { kind: 'response' }>[] = []
    for (const { record, message } of records) {
      const known = states.get(message.thingId)!
      const events = telemetryDecider.decide(
        { type: 'RecordTelemetry', data: { partition: record.partition, offset: record.offset, fact: message } },
        known.state,
        new Date(message.receivedAt),
      )
      if (events.length > 0) {
        const metadata = this.metadataOf(record, message)
        let appends = pending.get(message.thingId)
        if (!appends) pending.set(message.thingId, (appends = []))
        for (const event of events) appends.push({ id: this.options.newId(), type: event.type, data: event.data, metadata })
        states.set(message.thingId, { state: events.reduce(telemetryDecider.evolve, known.state), revision: known.revision + events.length })
      }
      if (message.kind === 'readings') {
        message.readings.forEach((reading, index) =>
          readings.push({
            key: telemetryKey(record.partition, record.offset, index),
            partition: record.partition,
            offset: record.offset,
            index,
            thingId: message.thingId,
            accountId: message.accountId,
            channel: reading.channel,
            type: reading.type,
            unit: reading.unit,
            value: reading.value,
            at: message.receivedAt,
          }),
        )
      } else if (message.kind === 'response') {
        responses.push(message)
      }
    }

    // One append per thing, all issued now: one group commit.
    const appends = [...pending].map(([thingId, events]) => {
      const revision = this.known.get(thingId)!.revision
      return this.options.eventStore
        .appendToStream(telemetryStreamOf(thingId), events, { expectedRevision: revision < 0 ? 'no_stream' : revision })
        .then(() => this.remember(thingId, states.get(thingId)!))
    })
    const outcomes = await Promise.allSettled(appends)
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
    if (failed) {
      // What failed (a concurrent writer, the store) is read again from the stream next time.
      for (const thingId of pending.keys()) this.known.delete(thingId)
      throw failed.reason
    }

    for (const response of responses) await this.recordAnswer(response)
    if (readings.length > 0) {
      for (const hook of this.options.hooks) await hook.onReadings(readings)
    }
  }

  /** Retries a failing batch with a growing pause until it succeeds or the processor stops. */
  private async handleUntilDone(batch: TelemetryBatch): Promise<void> {
    const done = await this.backoff.retry(
      () => this.handle(batch),
      () => this.stopping,
      (error, attempt) => this.options.logger.warn({ err: error, partition: batch.partition, attempt }, 'telemetry batch failed; retrying'),
    )
    if (!done) throw new Stopped('stopped before the batch was processed')
  }

  /** The thing's last telemetry event: an empty append tells the stream's revision, then that one event is read. */
  private async load(thingId: string): Promise<void> {
    const stream = telemetryStreamOf(thingId)
    const { nextRevision } = await this.options.eventStore.appendToStream(stream, [], { expectedRevision: 'any' })
    const last = nextRevision < 0 ? [] : await this.options.eventStore.readStream(stream, { fromRevision: nextRevision })
    const state = (last as unknown as TelemetryEvent[]).reduce(telemetryDecider.evolve, telemetryDecider.initialState)
    this.remember(thingId, { state, revision: nextRevision })
  }

  private remember(thingId: string, known: Known): void {
    this.known.delete(thingId)
    this.known.set(thingId, known)
    if (this.known.size > maxKnownThings) this.known.delete(this.known.keys().next().value!)
  }

  private metadataOf(record: TelemetryRecord, message: TelemetryMessage): EventMetadata {
    const id = `telemetry:${record.partition}:${record.offset}`
    return {
      actor: { type: 'system', id: 'telemetry-processor' },
      account_id: message.accountId,
      client_id: null,
      correlation_id: id,
      causation_id: id,
      time: message.receivedAt,
    }
  }

  /** `ok,seq` / `error,seq=message` → the command's outcome; a seq that is no command of the thing's is logged. */
  private async recordAnswer(response: Extract<TelemetryMessage, { kind: 'response' }>): Promise<void> {
    const command = commandOutcomeOf(response)
    if (!command) {
      this.options.logger.debug({ thingId: response.thingId, seq: response.seq }, 'answer to no command of ours (a seq we never sent)')
      return
    }
    try {
      await recordCommandOutcome(
        { eventStore: this.options.eventStore, now: () => new Date(response.receivedAt), newId: this.options.newId },
        { ...command.data, accountId: response.accountId, reporter: 'telemetry' },
      )
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
      this.options.logger.info({ thingId: response.thingId, seq: response.seq, reason: error.message }, 'answer to an unknown command: ignored')
    }
  }
}
