/** What a device's publish means, once its topic and payload are read. */
import type { Reading } from '../telemetry/telemetry-message.ts'

export type Interpretation =
  | { readonly kind: 'readings'; readonly readings: readonly Reading[] }
  | { readonly kind: 'response'; readonly seq: string; readonly ok: boolean; readonly message: string | null }
  | { readonly kind: 'sys'; readonly key: string; readonly value: string }
  /** not telemetry (device-bound topics): the broker routes it and nothing is recorded */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'rejected'; readonly reason: string }
