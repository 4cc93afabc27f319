// SIGNATURES AGREED BETWEEN HELPERS: the codecs helper replaces the bodies.
/** A topic under `v1/{username}/things/{thingId}/...`, as the Cayenne MQTT protocol names it. */
export type CayenneTopic = {
  readonly username: string
  readonly thingId: string
} & (
  | { readonly kind: 'data' | 'digital' | 'analog'; readonly channel: string }
  | { readonly kind: 'data/json' }
  | { readonly kind: 'response' }
  | { readonly kind: 'sys'; readonly key: string }
  /** device-bound topics (cmd/+, digital-cmd/+, analog-cmd/+, conf/+, *-conf/+, cmd.json) and jobs.json: plain broker traffic, not telemetry */
  | { readonly kind: 'device-bound' | 'other'; readonly rest: string }
)

/** Parses a concrete topic (no wildcards); null when it is not under `v1/{username}/things/{thingId}/`. */
export function parseTopic(topic: string): CayenneTopic | null {
  throw new Error(`not implemented yet: ${topic}`)
}
