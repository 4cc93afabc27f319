// SIGNATURES AGREED BETWEEN HELPERS: the codecs helper replaces the bodies.
import type { Reading } from '../telemetry-message.ts'
import type { CayenneTopic } from './topics.ts'

export type Interpretation =
  | { readonly kind: 'readings'; readonly readings: readonly Reading[] }
  | { readonly kind: 'response'; readonly seq: string; readonly ok: boolean; readonly message: string | null }
  | { readonly kind: 'sys'; readonly key: string; readonly value: string }
  /** not telemetry (device-bound topics): the broker routes it and nothing is recorded */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'rejected'; readonly reason: string }

/**
 * What a publish on a Cayenne topic means. Never throws: anything it cannot read is
 * `rejected` with a reason a person can act on. `codec` is the thing's provisioning codec
 * (`lpp` decodes binary Cayenne LPP on data topics).
 */
export function interpretPublish(topic: CayenneTopic, payload: Uint8Array, codec: string | null): Interpretation {
  throw new Error(`not implemented yet: ${topic.kind} ${payload.length} ${codec}`)
}

/** The body of `data/json` and of the HTTP ingest: a JSON array of `{channel, value, type, unit}`. */
export function interpretJsonReadings(text: string): Interpretation {
  throw new Error(`not implemented yet: ${text.length}`)
}
