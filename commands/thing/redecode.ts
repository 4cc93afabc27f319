/**
 * Re-decode a thing's kept payloads (after a codec fix): read its telemetry stream, decode
 * each record's kept payload again with the thing's codec as registered now (or the one
 * named), let the domain decide the corrections (domain/telemetry/corrections.ts), and
 * append them to the same stream with the revision read (a concurrent append, such as the
 * telemetry processor's, makes it read and decide again). Old events are never rewritten.
 * Shared by `POST /v1.1/things/{id}/redecode` and `capsicum redecode`.
 */
import { ConcurrencyError } from '../../domain/errors.ts'
import { decideCorrections, readingsOf, recordOf, type Redecoded } from '../../domain/telemetry/corrections.ts'
import { telemetryDecider, telemetryKey, telemetryStreamOf, type ReadingValue, type TelemetryEvent } from '../../domain/telemetry/telemetry.ts'
import { provisionedDevicesProjection, type ProvisionedDeviceDocument } from '../../projections/provisioned-devices.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { interpretJsonReadings, interpretPublish, type Interpretation } from '../../domain/cayenne/interpret.ts'
import { parseTopic } from '../../domain/cayenne/topics.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'

export interface RedecodeRequest {
  readonly thingId: string
  /** inclusive, ISO 8601: readings received at or after it */
  readonly from?: string
  /** exclusive, ISO 8601 */
  readonly to?: string
  /** a codec name to decode with instead of the thing's provisioning codec */
  readonly codec?: string | null
}

export interface RedecodeResult {
  /** the codec the payloads were decoded with (null: the text codecs) */
  readonly codec: string | null
  /** records whose kept payload was decoded again */
  readonly examined: number
  /** readings corrected now (0 when run again) */
  readonly corrected: number
  /** readings in the range recorded without a kept payload (before payloads were kept) */
  readonly withoutPayload: number
  readonly skipped: readonly { readonly record: string; readonly problem: string }[]
  /** log position of the last correction appended; null when none */
  readonly position: number | null
}

export interface RedecodeDeps {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly newId: () => string
  readonly now: () => Date
  readonly metadata: Omit<EventMetadata, 'time'>
}

/** The codec a thing's payloads are decoded with: its provisioning codec, null for a thing created directly. */
export async function provisioningCodecOf(readStore: ReadStore, thingId: string): Promise<string | null> {
  const device = await readStore.collection<ProvisionedDeviceDocument>(provisionedDevicesProjection.collection).get(thingId)
  return device?.codec ?? null
}

function decodeAgain(topic: string | null, payload: Buffer, codec: string | null): Interpretation {
  if (topic === null) return interpretJsonReadings(payload.toString('utf8'))
  const parsed = parseTopic(topic)
  if (parsed === null) return { kind: 'rejected', reason: `topic ${topic} is no Cayenne topic` }
  try {
    return interpretPublish(parsed, payload, codec)
  } catch (error) {
    return { kind: 'rejected', reason: `could not be read: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const maxAttempts = 5

export async function redecodeThing(deps: RedecodeDeps, request: RedecodeRequest): Promise<RedecodeResult> {
  const codec = request.codec !== undefined && request.codec !== null ? request.codec : await provisioningCodecOf(deps.readStore, request.thingId)
  const from = request.from === undefined ? -Infinity : Date.parse(request.from)
  const to = request.to === undefined ? Infinity : Date.parse(request.to)
  const stream = telemetryStreamOf(request.thingId)
  for (let attempt = 1; ; attempt++) {
    const events = await deps.eventStore.readStream(stream)
    const state = readingsOf(events)
    const last = (events as unknown as TelemetryEvent[]).reduce(telemetryDecider.evolve, telemetryDecider.initialState).last
    const redecoded: Redecoded[] = []
    let withoutPayload = 0
    for (const reading of state.values()) {
      const at = Date.parse(reading.at)
      if (at < from || at >= to || !reading.key.endsWith(':0')) continue
      const record = recordOf(reading.key)
      if (reading.raw === undefined) {
        withoutPayload += 1
        continue
      }
      const meaning = decodeAgain(reading.raw.topic, Buffer.from(reading.raw.payload, 'base64'), codec)
      if (meaning.kind === 'readings') redecoded.push({ record, readings: meaning.readings as readonly ReadingValue[] })
      else redecoded.push({ record, problem: meaning.kind === 'rejected' ? `no longer decodes: ${meaning.reason}` : `decodes to no readings (${meaning.kind})` })
    }
    const decision = decideCorrections(
      { type: 'CorrectReadings', data: { codec, redecoded, recordedThrough: last === null ? null : telemetryKey(last.partition, last.offset, 0) } },
      state,
    )
    const result = { codec, examined: redecoded.length, corrected: decision.events.length, withoutPayload, skipped: decision.skipped }
    if (decision.events.length === 0) return { ...result, position: null }
    const metadata: EventMetadata = { ...deps.metadata, time: deps.now().toISOString() }
    try {
      const appended = await deps.eventStore.appendToStream(
        stream,
        decision.events.map((event) => ({ id: deps.newId(), type: event.type, data: event.data, metadata })),
        { expectedRevision: events.length - 1 },
      )
      return { ...result, position: appended.position }
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= maxAttempts) throw error
    }
  }
}
