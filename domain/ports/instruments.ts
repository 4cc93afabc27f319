/**
 * What the core reports for the operator's metrics; adapters/metrics.ts turns it into
 * Prometheus series. Every consumer takes it as optional: without it nothing is reported.
 */
export interface Instruments {
  /** the telemetry processor recorded a batch: readings (`SensorReadingsRecorded`), and messages kept as rejected */
  telemetryRecorded(readings: number, rejected: number): void
  /** the scheduler recorded a job run this many seconds after its occurrence was due */
  jobRunLate(seconds: number): void
  /** a delivery attempt ended (`succeeded`, `failed`, `rejected`, `undeliverable`); `dead`: it made the delivery a dead letter */
  deliveryAttempted(channel: string, outcome: string, dead: boolean): void
}
