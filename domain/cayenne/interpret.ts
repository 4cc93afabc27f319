import type { Reading } from '../telemetry/telemetry-message.ts'
import { payloadCodecOf } from './codecs.ts'
import type { Interpretation } from './interpretation.ts'
import {
  MAX_LABEL,
  MAX_TEXT,
  MAX_VALUES,
  isNonFiniteWord,
  parseAnalogText,
  parseDataText,
  parseDigitalText,
  parseResponseText,
  parseSysText,
  quote,
  rejected,
  scanNumber,
} from './payloads.ts'
import type { CayenneTopic } from './topics.ts'

export type { Interpretation } from './interpretation.ts'

export { formatCommandPayload } from './payloads.ts'


/** Largest payload read on a telemetry topic. */
export const MAX_PAYLOAD = 64 * 1024
/** Largest `sys/*` payload. */
export const MAX_SYS_PAYLOAD = 1024
/** Most readings in one `data/json` array, HTTP ingest body or LPP frame. */
export const MAX_ITEMS = 1000
const MAX_CHANNEL_TEXT = 128

const ignored: Interpretation = { kind: 'ignored' }
/** Refuses a malformed sequence instead of replacing it; a leading BOM is dropped. */
const utf8 = new TextDecoder('utf-8', { fatal: true })


/**
 * What a publish on a Cayenne topic means. Never throws: anything it cannot read is
 * `rejected` with a reason a person can act on. `codec` is the thing's provisioning codec
 * (a registered binary codec, domain/cayenne/codecs.ts, such as `lpp` for Cayenne LPP,
 * decodes data topics; the topic's channel is then ignored, each record names its own).
 *
 * A zero-length payload is `ignored` on every topic: it is how MQTT clears a retained
 * message, and the C libraries publish data and responses retained.
 */
export function interpretPublish(topic: CayenneTopic, payload: Uint8Array, codec: string | null): Interpretation {
  if (topic.kind === 'device-bound' || topic.kind === 'other' || payload.length === 0) return ignored
  if (payload.length > MAX_PAYLOAD) return rejected(`payload of ${payload.length} bytes is over the ${MAX_PAYLOAD}-byte limit`)
  const binary = topic.kind === 'data' ? payloadCodecOf(codec) : undefined
  if (binary !== undefined) return binary(payload)
  if (topic.kind === 'sys' && payload.length > MAX_SYS_PAYLOAD) return rejected(`sys/${topic.key}: ${payload.length} bytes is over the ${MAX_SYS_PAYLOAD}-byte limit`)
  let text: string
  try {
    text = utf8.decode(payload)
  } catch {
    return rejected('payload is not valid UTF-8 text')
  }
  switch (topic.kind) {
    case 'data':
      return parseDataText(text, topic.channel)
    case 'digital':
      return parseDigitalText(text, topic.channel)
    case 'analog':
      return parseAnalogText(text, topic.channel)
    case 'data/json':
      return interpretJsonReadings(text)
    case 'response':
      return parseResponseText(text)
    case 'sys':
      return parseSysText(topic.key, text)
  }
}

/**
 * The body of `data/json` and of the HTTP ingest: a JSON array of
 * `{channel, value, type?, unit?, name?}` (a single such object is read as an array of
 * one). `channel` is a non-negative integer or a text such as `sys:cpu;load`; `value` a
 * finite number, a boolean (1/0), a list of 1..4 numbers, or text: text that is a decimal
 * number is read as that number, any other text is kept (the Cayenne agent sends
 * `sys:net;ip` as `"192.168.1.2"`). `name` and unknown fields are ignored; an empty
 * `type`/`unit`, or unit `null`, is null. Reasons name the item and field: `[3].value: ...`.
 */
export function interpretJsonReadings(text: string): Interpretation {
  let doc: unknown
  try {
    // trim: a BOM (HTTP bodies) is whitespace to String#trim, an error to JSON.parse
    doc = JSON.parse(text.trim())
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return rejected(`not JSON: ${message.length > 120 ? `${message.slice(0, 120)}...` : message}`)
  }
  const array = Array.isArray(doc)
  let items: readonly unknown[]
  if (Array.isArray(doc)) items = doc
  else if (isObject(doc)) items = [doc]
  else return rejected('must be a JSON array of {channel, value, type, unit} objects')
  if (items.length === 0) return rejected('the array is empty: send at least one {channel, value}')
  if (items.length > MAX_ITEMS) return rejected(`${items.length} items: at most ${MAX_ITEMS} per message`)
  const readings: Reading[] = []
  for (let i = 0; i < items.length; i++) {
    const at = array ? `[${i}]` : ''
    const read = jsonReading(items[i], at)
    if (typeof read === 'string') return rejected(read)
    readings.push(read)
  }
  return { kind: 'readings', readings }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x)

function jsonReading(item: unknown, at: string): Reading | string {
  const field = (name: string): string => (at === '' ? name : `${at}.${name}`)
  if (!isObject(item)) return `${at === '' ? 'the item' : at}: must be an object {channel, value, type, unit}`
  const channel = jsonChannel(item.channel)
  if (channel.problem !== null) return `${field('channel')}: ${channel.problem}`
  const value = jsonValue(item.value)
  if (value.problem !== null) return `${field('value')}: ${value.problem}`
  const type = jsonLabel(item.type)
  if (type.problem !== null) return `${field('type')}: ${type.problem}`
  const unit = jsonLabel(item.unit)
  if (unit.problem !== null) return `${field('unit')}: ${unit.problem}`
  return { channel: channel.ok, type: type.ok, unit: unit.ok === 'null' ? null : unit.ok, value: value.ok }
}

type Checked<T> = { readonly ok: T; readonly problem: null } | { readonly ok?: never; readonly problem: string }
const problem = (text: string): Checked<never> => ({ problem: text })
const ok = <T>(value: T): Checked<T> => ({ ok: value, problem: null })

function jsonChannel(x: unknown): Checked<string> {
  if (x === undefined || x === null) return problem('missing')
  if (typeof x === 'number') {
    return Number.isSafeInteger(x) && x >= 0 ? ok(String(x)) : problem(`must be a non-negative integer or a text, not ${x}`)
  }
  if (typeof x !== 'string') return problem('must be a non-negative integer or a text')
  const text = x.trim()
  if (text === '') return problem('must not be empty')
  if (text.length > MAX_CHANNEL_TEXT) return problem(`must be at most ${MAX_CHANNEL_TEXT} characters`)
  return ok(text)
}

function jsonValue(x: unknown): Checked<Reading['value']> {
  switch (typeof x) {
    case 'number':
      return Number.isFinite(x) ? ok(x === 0 ? 0 : x) : problem('must be a finite number')
    case 'boolean':
      return ok(x ? 1 : 0)
    case 'string': {
      const text = x.trim()
      if (text === '') return problem('must not be empty')
      const n = scanNumber(text)
      if (Number.isFinite(n)) return ok(n)
      if (!Number.isNaN(n) || isNonFiniteWord(text)) return problem(`${quote(text)} is not a finite number`)
      return text.length > MAX_TEXT ? problem(`text is longer than ${MAX_TEXT} characters`) : ok(text)
    }
    case 'undefined':
      return problem('missing')
  }
  if (x === null) return problem('missing')
  if (!Array.isArray(x)) return problem('must be a number, a boolean, a text or a list of numbers')
  if (x.length === 0 || x.length > MAX_VALUES) return problem(`a list must have 1 to ${MAX_VALUES} numbers, not ${x.length}`)
  const numbers: number[] = []
  for (let k = 0; k < x.length; k++) {
    const n: unknown = x[k]
    if (typeof n !== 'number' || !Number.isFinite(n)) return problem(`item ${k} must be a finite number`)
    numbers.push(n === 0 ? 0 : n)
  }
  return ok(numbers.length === 1 ? (numbers[0] as number) : numbers)
}

function jsonLabel(x: unknown): Checked<string | null> {
  if (x === undefined || x === null) return ok(null)
  if (typeof x !== 'string') return problem('must be a text')
  const text = x.trim()
  if (text.length > MAX_LABEL) return problem(`must be at most ${MAX_LABEL} characters`)
  return ok(text === '' ? null : text)
}
