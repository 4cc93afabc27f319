/**
 * Puts records on the telemetry stream in batches: every record written in the same turn
 * of the event loop goes into one `produce` (at most `maxBatch` records; more wait for the
 * next), and the next batch waits for the one in flight (so one thing's records stay in
 * order whatever the engine). The records of a batch share one promise, which resolves
 * once they are durable: a promise and its functions per record were about 350 of the 9 KB
 * a reading allocated.
 */
import type { TelemetryRecordToProduce, TelemetryStream } from '../domain/ports/telemetry-stream.ts'

interface Batch {
  readonly records: TelemetryRecordToProduce[]
  readonly durable: Promise<void>
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

function newBatch(): Batch {
  const records: TelemetryRecordToProduce[] = []
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const durable = new Promise<void>((yes, no) => ([resolve, reject] = [yes, no]))
  return { records, durable, resolve, reject }
}

export class TelemetryWriter {
  /** batches not produced yet, oldest first; only the last takes new records */
  private waiting: Batch[] = []
  private waitingRecords = 0
  private scheduled = false
  private inFlight: Promise<void> | null = null

  constructor(
    private readonly telemetry: Pick<TelemetryStream, 'produce'>,
    private readonly maxBatch = 5000,
  ) {}

  /** records waiting for a produce (the one in flight not counted) */
  get backlog(): number {
    return this.waitingRecords
  }

  write(record: TelemetryRecordToProduce): Promise<void> {
    let batch = this.waiting[this.waiting.length - 1]
    if (batch === undefined || batch.records.length >= this.maxBatch) this.waiting.push((batch = newBatch()))
    batch.records.push(record)
    this.waitingRecords++
    this.schedule()
    return batch.durable
  }

  /** Resolves once everything written so far has been produced (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight !== null || this.waiting.length > 0) {
      if (this.inFlight === null) this.send()
      await this.inFlight
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight !== null) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      if (this.inFlight === null) this.send()
    })
  }

  private send(): void {
    const batch = this.waiting.shift()
    if (batch === undefined) return
    this.waitingRecords -= batch.records.length
    this.inFlight = this.telemetry
      .produce(batch.records)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        this.inFlight = null
        if (this.waiting.length > 0) this.schedule()
      })
  }
}
