/**
 * Fixtures for the rules tests: things with chosen ids (the API text's examples name
 * theirs), readings as the telemetry processor hands them to its hooks, and the same
 * readings recorded as `SensorReadingRecorded` events for the what-if.
 */
import { createThing } from '../../commands/thing/create-thing.ts'
import type { EventStore, RecordedEvent } from '../../domain/ports/event-store.ts'
import type { RuleEvent } from '../../domain/rule/rule.ts'
import { ruleStreamName } from '../../domain/rule/rule.ts'
import { telemetryStreamOf, type SensorReadingRecorded } from '../../domain/telemetry/telemetry.ts'
import type { RecordedReading } from '../../domain/ports/reading-hook.ts'
import type { TestServer } from './server.ts'

const system = { actor: { type: 'system', id: 'test' }, account_id: null, client_id: null, correlation_id: 'test', causation_id: 'test' } as const

/** Things of the account with exactly these ids, through the same use case as POST /v1.1/things. */
export async function thingsWithIds(server: TestServer, accountId: string, thingIds: readonly string[]): Promise<void> {
  const clients = await server.api('POST', '/v1.1/clients', { token: server.tokenFor(accountId) })
  if (clients.status !== 200 && clients.status !== 201) throw new Error(`POST /v1.1/clients answered ${clients.status}`)
  const { eventStore, readStore, runner } = server.capsicum
  for (const thingId of thingIds) {
    const result = await createThing({ name: `Thing ${thingId}` }, accountId, thingId, readStore, {
      eventStore,
      now: () => new Date(),
      newId: () => crypto.randomUUID(),
      metadata: system,
    })
    if (result.position !== null) await runner.waitFor(result.position, 5000)
  }
}

export interface ReadingSpec {
  readonly thingId: string
  readonly channel: string
  readonly value: RecordedReading['value']
  readonly at: string
  readonly unit?: string | null
  readonly accountId?: string
}

/**
 * Hands out readings with growing keys (one partition per test), and records each as the
 * processor would: a `SensorReadingRecorded` in the thing's telemetry stream.
 */
export class ReadingFeed {
  constructor(
    private readonly eventStore: EventStore,
    /** the offset of the last record handed out before */
    private offset = 0,
    private readonly partition = 0,
  ) {}

  async record(specs: readonly ReadingSpec[]): Promise<RecordedReading[]> {
    const readings: RecordedReading[] = []
    for (const spec of specs) {
      const offset = ++this.offset
      const reading: RecordedReading = {
        key: `${this.partition}:${offset}:0`,
        partition: this.partition,
        offset,
        index: 0,
        thingId: spec.thingId,
        accountId: spec.accountId ?? 'account',
        channel: spec.channel,
        type: 'temp',
        unit: spec.unit === undefined ? 'c' : spec.unit,
        value: spec.value,
        at: spec.at,
      }
      const { partition: _p, offset: _o, index: _i, ...data } = reading
      const event: SensorReadingRecorded = { type: 'SensorReadingRecorded', data: { ...data, source: 'mqtt' } }
      await this.eventStore.appendToStream(
        telemetryStreamOf(spec.thingId),
        [{ id: crypto.randomUUID(), type: event.type, data: event.data, metadata: { ...system, time: spec.at } }],
        { expectedRevision: 'any' },
      )
      readings.push(reading)
    }
    return readings
  }
}

/** The rule's firing facts, in order. */
export async function firingsOf(eventStore: EventStore, ruleId: string): Promise<RecordedEvent<RuleEvent>[]> {
  const events = (await eventStore.readStream(ruleStreamName(ruleId))) as RecordedEvent<RuleEvent>[]
  return events.filter((e) => e.type === 'RuleTriggered' || e.type === 'RuleRearmed')
}

/** Values of the readings that fired the rule. */
export async function firedValues(eventStore: EventStore, ruleId: string): Promise<unknown[]> {
  return (await firingsOf(eventStore, ruleId)).flatMap((e) => (e.type === 'RuleTriggered' ? [e.data.reading.value] : []))
}
