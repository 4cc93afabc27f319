/** Feeding the telemetry stream directly (no broker) and waiting until everything downstream has it. */
import { telemetryRecordOf, type TelemetryMessage, type Reading } from '../../domain/telemetry/telemetry-message.ts'
import type { TelemetryRecordToProduce } from '../../domain/ports/telemetry-stream.ts'
import { within } from '../helpers/async.ts'
import type { TestServer } from '../helpers/server.ts'

export interface Device {
  readonly thingId: string
  readonly accountId: string
}

/** A record as the bridge writes it (without the message itself, as read back from the table). */
export function record(message: TelemetryMessage): TelemetryRecordToProduce {
  const { key, value, timestamp } = telemetryRecordOf(message, Date.parse(message.receivedAt))
  return { key, value, timestamp }
}

export function readingsOf(device: Device, at: Date | string, readings: readonly Reading[], source: 'mqtt' | 'http' = 'mqtt'): TelemetryMessage {
  const receivedAt = typeof at === 'string' ? at : at.toISOString()
  return { kind: 'readings', source, topic: source === 'mqtt' ? 'v1/u/things/t/data/json' : null, ...device, receivedAt, readings }
}

export function reading(channel: string, value: Reading['value'], type: string | null = 'temp', unit: string | null = 'c'): Reading {
  return { channel, type, unit, value }
}

/** Resolves once the processor committed past every record and the read models and the history reached the log's head. */
export async function settled(server: TestServer, produced: readonly { partition: number; offset: number }[], groupId = 'telemetry-processor'): Promise<void> {
  const { telemetry, eventStore, runner, readingHistory } = server.capsicum
  await within(
    (async () => {
      for (;;) {
        const committed = await telemetry.committedOffsets(groupId)
        if (produced.every((p) => (committed.get(p.partition) ?? 0) > p.offset)) break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    })(),
    'the processor to commit the records',
    20_000,
  )
  const head = await eventStore.headPosition()
  if (head === null) return
  await within(runner.waitFor(head, 20_000), 'the read models', 21_000)
  await within(readingHistory.waitFor(head, 20_000), 'the reading history', 21_000)
}

/** Produces the messages (durably) and waits until they are processed everywhere. */
export async function feed(server: TestServer, messages: readonly TelemetryMessage[]): Promise<void> {
  await settled(server, await server.capsicum.telemetry.produce(messages.map(record)))
}
