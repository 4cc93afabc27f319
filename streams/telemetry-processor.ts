/**
 * The telemetry processor: consumes the telemetry stream per partition and turns each
 * thing's records of a batch into events of its `telemetry-<thingId>` stream
 * (telemetryDecider: its readings one `SensorReadingsRecorded`), then
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
import type { EventMetadata, EventStore } from '../domain/ports/event-store.ts'
import { foldRecorded } from '../domain/fold-events.ts'
import { handleCommandBatch, type CommandInBatch } from '../commands/handle-command.ts'
import type { Logger } from '../domain/ports/logger.ts'
import { Backoff } from '../projections/log-follower.ts'
import { recordCommandOutcome } from '../commands/thing/record-command-outcome.ts'
import { NotFoundError } from '../domain/errors.ts'
import {
  commandOutcomeOf,
  telemetryDecider,
  telemetryKey,
  telemetryStreamOf,
  type RecordTelemetry,
  type TelemetryRecordFact,
  type TelemetryState,
} from '../domain/telemetry/telemetry.ts'
import type { ReadingHook, RecordedReading } from '../domain/ports/reading-hook.ts'
import { messageOfRecord, type TelemetryMessage } from '../domain/telemetry/telemetry-message.ts'
import type { TelemetryBatch, TelemetryConsumer, TelemetryRecord, TelemetryStream } from '../domain/ports/telemetry-stream.ts'
import type { Instruments } from '../domain/ports/instruments.ts'

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
  readonly instruments?: Instruments
}

/** A thing's telemetry stream as far as the processor knows it. */
interface Known {
  readonly state: TelemetryState
  /** the stream's last revision; -1 when it has no event */
  readonly revision: number
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
      const message = record.message ?? messageOfRecord(record)
      if (message) records.push({ record, message })
      else this.options.logger.error({ partition: record.partition, offset: record.offset, key: record.key }, 'telemetry record is no telemetry message: skipped')
    }
    const thingIds = [...new Set(records.map((r) => r.message.thingId))]
    await Promise.all(thingIds.filter((id) => !this.known.has(id)).map((id) => this.load(id)))

    // A thing's records are commands to its stream, in stream order, one append per thing: a
    // run of readings records is one command (one event), any other fact one of its own, so
    // each event's metadata names the record it came from (a run: its first). An answer to a
    // command is no telemetry (recordAnswer) and leaves a run whole.
    const byThing = new Map<string, { readonly commands: CommandInBatch<RecordTelemetry>[]; run?: TelemetryRecordFact[] }>()
    const readings: RecordedReading[] = []
    const responses: Extract<TelemetryMessage, { kind: 'response' }>[] = []
    for (const { record, message } of records) {
      let thing = byThing.get(message.thingId)
      if (!thing) byThing.set(message.thingId, (thing = { commands: [] }))
      const fact: TelemetryRecordFact = { partition: record.partition, offset: record.offset, fact: message }
      if (message.kind === 'readings' && thing.run) {
        thing.run.push(fact)
      } else if (message.kind !== 'response') {
        const facts = [fact]
        thing.run = message.kind === 'readings' ? facts : undefined
        thing.commands.push({ command: { type: 'RecordTelemetry', data: { records: facts } }, metadata: this.metadataOf(record, message), at: new Date(message.receivedAt) })
      }
      if (message.kind === 'readings') {
        for (let index = 0; index < message.readings.length; index++) {
          const reading = message.readings[index]!
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
          })
        }
      } else if (message.kind === 'response') {
        responses.push(message)
      }
    }

    const streams = [...byThing].map(([thingId, { commands }]) => ({ streamName: telemetryStreamOf(thingId), commands, known: this.known.get(thingId)! }))
    let recorded = 0
    let rejected = 0
    try {
      const results = await handleCommandBatch(telemetryDecider, streams, { eventStore: this.options.eventStore, newId: this.options.newId })
      let k = 0
      for (const thingId of byThing.keys()) {
        const { state, revision, newEvents } = results[k++]!
        this.remember(thingId, { state, revision })
        if (this.options.instruments) {
          for (const event of newEvents) {
            if (event.type === 'SensorReadingsRecorded') recorded += event.data.readings.length
            else if (event.type === 'ReadingRejected') rejected++
          }
        }
      }
    } catch (error) {
      // What failed (the store) is read again from the stream next time.
      for (const thingId of byThing.keys()) this.known.delete(thingId)
      throw error
    }
    this.options.instruments?.telemetryRecorded(recorded, rejected)

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

  /** The thing's last telemetry event is its whole state: the stream's revision, then that one event. */
  private async load(thingId: string): Promise<void> {
    const stream = telemetryStreamOf(thingId)
    const revision = await this.options.eventStore.streamRevision(stream)
    const last = revision < 0 ? [] : await this.options.eventStore.readStream(stream, { fromRevision: revision })
    this.remember(thingId, { state: foldRecorded(telemetryDecider, last), revision })
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
