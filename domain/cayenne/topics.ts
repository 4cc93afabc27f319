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

/** The C library keeps a channel in an `unsigned int`. */
const MAX_CHANNEL = 0xffffffff

/**
 * A channel as `CayenneParseTopic` accepts it: a plain unsigned decimal, `0` allowed,
 * no leading zeros, no sign, no spaces (we also bound it to the C `unsigned int`).
 */
export function isChannel(level: string): boolean {
  const n = level.length
  if (n === 0 || n > 10) return false
  if (n > 1 && level.charCodeAt(0) === 48) return false
  for (let i = 0; i < n; i++) {
    const c = level.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return n < 10 || Number(level) <= MAX_CHANNEL
}

const channelTopics = new Set(['data', 'digital', 'analog'])
const deviceBoundChannelTopics = new Set(['cmd', 'digital-cmd', 'analog-cmd', 'conf', 'digital-conf', 'analog-conf'])

/** Parses a concrete topic (no wildcards); null when it is not under `v1/{username}/things/{thingId}/`. */
export function parseTopic(topic: string): CayenneTopic | null {
  const levels = topic.split('/')
  if (levels.length < 5 || levels[0] !== 'v1' || levels[2] !== 'things') return null
  for (const level of levels) {
    if (level === '' || level.includes('+') || level.includes('#')) return null
  }
  const username = levels[1] as string
  const thingId = levels[3] as string
  const head = levels[4] as string
  const rest = topic.slice(username.length + thingId.length + 12)
  if (levels.length === 5) {
    if (head === 'response') return { username, thingId, kind: 'response' }
    if (head === 'cmd.json') return { username, thingId, kind: 'device-bound', rest }
    return { username, thingId, kind: 'other', rest }
  }
  if (head === 'sys') return { username, thingId, kind: 'sys', key: rest.slice(4) }
  if (levels.length === 6) {
    const last = levels[5] as string
    if (head === 'data' && last === 'json') return { username, thingId, kind: 'data/json' }
    if (isChannel(last)) {
      if (channelTopics.has(head)) return { username, thingId, kind: head as 'data' | 'digital' | 'analog', channel: last }
      if (deviceBoundChannelTopics.has(head)) return { username, thingId, kind: 'device-bound', rest }
    }
  }
  return { username, thingId, kind: 'other', rest }
}
