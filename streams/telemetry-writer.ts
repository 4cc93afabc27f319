/**
 * Puts records on the telemetry stream in batches: every record written in the same turn
 * of the event loop goes into one `produce`, and the next batch waits for the one in
 * flight (so one thing's records stay in order whatever the engine). Each promise
 * resolves once its record is durable.
 */
import type { TelemetryRecordToProduce, TelemetryStream } from '../domain/ports/telemetry-stream.ts'

interface Pending {
  readonly record: TelemetryRecordToProduce
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class TelemetryWriter {
  private pending: Pending[] = []
  private scheduled = false
  private inFlight: Promise<void> | null = null

  constructor(
    private readonly telemetry: Pick<TelemetryStream, 'produce'>,
    private readonly maxBatch = 5000,
  ) {}

  /** records waiting for a produce (the one in flight not counted) */
  get backlog(): number {
    return this.pending.length
  }

  write(record: TelemetryRecordToProduce): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject })
      this.schedule()
    })
  }

  /** Resolves once everything written so far has been produced (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight !== null || this.pending.length > 0) {
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
    const batch = this.pending.splice(0, this.maxBatch)
    if (batch.length === 0) return
    this.inFlight = this.telemetry.produce(batch.map((p) => p.record)).then(
      () => batch.forEach((p) => p.resolve()),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    ).finally(() => {
      this.inFlight = null
      if (this.pending.length > 0) this.schedule()
    })
  }
}
