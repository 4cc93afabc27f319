import type { TelemetryMessage } from '../telemetry/telemetry-message.ts'

/**
 * The TelemetryStream port, shaped by Kafka: a log split into partitions by key (the
 * thing id, so one thing's readings stay in order), consumer groups that commit offsets
 * only after processing, and seeking back to an offset or a time to replay.
 */
export interface TelemetryRecordToProduce {
  /** the partitioning key: a thing id */
  readonly key: string
  /** JSON text */
  readonly value: string
  /** milliseconds since the epoch, when the reading was received */
  readonly timestamp: number
  /**
   * `value` before it became JSON, when the producer has it: a consumer in the same
   * process may take it instead of parsing `value` again. Never stored or sent.
   */
  readonly message?: TelemetryMessage
}

export interface TelemetryRecord extends TelemetryRecordToProduce {
  readonly partition: number
  /** 0-based, dense within a partition */
  readonly offset: number
}

export interface TelemetryBatch {
  readonly partition: number
  readonly records: readonly TelemetryRecord[]
}

export interface ConsumeOptions {
  readonly groupId: string
  readonly maxBatch?: number
  readonly onError?: (error: unknown) => void
}

export interface TelemetryConsumer {
  /** stops after the batch in flight; its offsets are committed if it succeeded */
  stop(): Promise<void>
}

export type SeekTarget = { readonly offset: number } | { readonly timestamp: number }

export interface TelemetryStream {
  readonly partitionCount: number
  partitionFor(key: string): number
  /** Resolves once every record is durable, with each record's partition and offset. */
  produce(records: readonly TelemetryRecordToProduce[]): Promise<{ partition: number; offset: number }[]>
  /**
   * Delivers each partition's records in order from the group's committed offsets. A
   * batch's offsets are committed after its handler resolves; if it throws, the batch is
   * delivered again (at least once).
   */
  consume(options: ConsumeOptions, handler: (batch: TelemetryBatch) => Promise<void>): TelemetryConsumer
  /** Moves a group's committed offset for one partition (replay). */
  seek(groupId: string, partition: number, target: SeekTarget): Promise<void>
  /** next offset the group will read, per partition */
  committedOffsets(groupId: string): Promise<Map<number, number>>
  /** the offset the next record of each partition will get (consumer lag is this minus a group's committed offset) */
  endOffsets(): Promise<Map<number, number>>
  ping(): Promise<void>
  close(): Promise<void>
}
