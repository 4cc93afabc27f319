/**
 * The text payloads of the Cayenne MQTT API (protocol doc 1.3 to 1.5), read with
 * `indexOf`/`slice` and a hand-written number scanner: no regex, no JSON, linear in the
 * payload. What they accept, where the protocol leaves it open:
 *
 * - `data/{ch}`: a bare number (`42`, `-1`, `1e3`, `6.600`); `type=value` (unit null);
 *   `type,unit=value` (`null` or empty unit = null); `type,u1,..,un=v1,..,vn` (units one to
 *   one with the values, at most 4); `type,unit=[v1,..,vn]` (0, 1 or n units). One value is
 *   a number, several a number[]. Several units are merged: all equal → that unit,
 *   otherwise joined by `,` (`null` standing for a missing one). A typed single value that
 *   is not a number is kept as text (`lt_color,null=#ff0000`, `hvac_state,null=cooling`),
 *   a bare one is refused: without a type nothing says it is meant as text. `nan`/`inf`
 *   are refused as not finite, never kept as text. Whitespace around any token is ignored.
 * - `digital/{ch}`: 0 or 1 (bare or typed), type `digital_sensor`, unit `d` unless given.
 * - `analog/{ch}`: `value` or `value,resolution` (the resolution becomes the unit, as the
 *   C library stores it), type `analog_sensor`; or the typed form with a number.
 * - `response`: `ok,{seq}`, `error,{seq}={message}` (the message keeps any `=` and `,`),
 *   and `error,{seq}` (message null).
 */
import type { Reading } from '../telemetry/telemetry-message.ts'
import type { Interpretation } from './interpretation.ts'

/** Most values a multi-value payload may carry (`CAYENNE_MAX_MESSAGE_VALUES`). */
export const MAX_VALUES = 4
/** Longest text value (typed text, JSON text values, `sys/*` facts), in characters. */
export const MAX_TEXT = 1024
/** Longest type or unit label. */
export const MAX_LABEL = 64
const MAX_SEQ = 256

export type Readings = Extract<Interpretation, { kind: 'readings' | 'rejected' }>
type Value = Reading['value']

export const rejected = (reason: string): Extract<Interpretation, { kind: 'rejected' }> => ({ kind: 'rejected', reason })

/** A token quoted for a reason: short, with control characters escaped, never the whole payload. */
export function quote(token: string): string {
  return JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token)
}

/**
 * A decimal number as C's `strtod` writes and reads it (`-1`, `+.5`, `5.`, `6.600`,
 * `1e3`), finite, with -0 read as 0. NaN when the token is not such a number, ±Infinity
 * when it overflows. No hex, no `_`, no `Infinity`.
 */
export function scanNumber(token: string): number {
  const n = token.length
  let i = 0
  let c = token.charCodeAt(0)
  if (c === 43 || c === 45) c = token.charCodeAt(++i)
  let digits = 0
  while (c >= 48 && c <= 57) {
    digits++
    c = token.charCodeAt(++i)
  }
  if (c === 46) {
    c = token.charCodeAt(++i)
    while (c >= 48 && c <= 57) {
      digits++
      c = token.charCodeAt(++i)
    }
  }
  if (digits === 0) return NaN
  if (c === 101 || c === 69) {
    c = token.charCodeAt(++i)
    if (c === 43 || c === 45) c = token.charCodeAt(++i)
    let exponent = 0
    while (c >= 48 && c <= 57) {
      exponent++
      c = token.charCodeAt(++i)
    }
    if (exponent === 0) return NaN
  }
  if (i !== n) return NaN
  const value = Number(token)
  return value === 0 ? 0 : value
}

const nonFiniteWords = new Set(['nan', 'inf', 'infinity'])
/** `nan`, `-nan`, `inf`, `Infinity`, ...: what printf writes for a value that is not finite. */
export function isNonFiniteWord(token: string): boolean {
  if (token.length > 9) return false
  const c = token.charCodeAt(0)
  return nonFiniteWords.has((c === 43 || c === 45 ? token.slice(1) : token).toLowerCase())
}

/** Why a token is not a usable number, or null when it is one. */
function numberProblem(token: string, value: number, what: string): string | null {
  if (Number.isFinite(value)) return null
  if (token === '') return `${what} is empty`
  if (Number.isNaN(value) && !isNonFiniteWord(token)) return `${what} ${quote(token)} is not a number`
  return `${what} ${quote(token)} is not a finite number`
}

interface Typed {
  readonly type: string
  readonly unit: string | null
  readonly value: Value
}

const reading = (channel: string, type: string | null, unit: string | null, value: Value): Readings => ({
  kind: 'readings',
  readings: [{ channel, type, unit, value }],
})

/**
 * The labels (types and units) met so far, each kept once: a reading's label is then the
 * same string as every other reading's with that label, instead of a copy cut from its
 * payload, and the readings held in memory for their readers hold a few strings, not one
 * each. The answer is the same text either way; past the bound, new labels are not shared.
 */
const sharedLabels = new Map<string, string>()
function sharedLabel(label: string): string {
  const known = sharedLabels.get(label)
  if (known !== undefined) return known
  if (sharedLabels.size < 4096) sharedLabels.set(label, label)
  return label
}

/** `type[,unit...]=value(s)`: the form every typed payload shares; `eq` is the index of the first `=`. */
function parseTyped(text: string, eq: number): Typed | string {
  const header = text.slice(0, eq)
  const comma = header.indexOf(',')
  const type = (comma === -1 ? header : header.slice(0, comma)).trim()
  if (type === '') return `missing type before '=' (the form is type,unit=value)`
  if (type.length > MAX_LABEL) return `type ${quote(type)} is longer than ${MAX_LABEL} characters`
  // no push onto an empty array: its first push allocates room for 17
  const units: (string | null)[] | null = comma === -1 ? [] : splitCommas(header.slice(comma + 1))
  if (units === null) return `more than ${MAX_VALUES} units`
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!.trim()
    if (unit.length > MAX_LABEL) return `unit ${quote(unit)} is longer than ${MAX_LABEL} characters`
    units[i] = unit === '' || unit === 'null' ? null : sharedLabel(unit)
  }

  const rhs = text.slice(eq + 1).trim()
  if (rhs === '') return `missing value after '='`
  const list = rhs.charCodeAt(0) === 91
  let tokens: string[] | null
  if (list) {
    if (rhs.charCodeAt(rhs.length - 1) !== 93) return `a list value must end with ']'`
    const inner = rhs.slice(1, -1)
    if (inner.trim() === '') return 'the list is empty'
    tokens = splitCommas(inner)
  } else {
    tokens = splitCommas(rhs)
  }
  if (tokens === null) return `more than ${MAX_VALUES} values`

  let value: Value
  if (tokens.length === 1 && !list) {
    const token = rhs
    const n = scanNumber(token)
    if (Number.isFinite(n)) value = n
    else if (!Number.isNaN(n) || isNonFiniteWord(token)) return `value ${quote(token)} is not a finite number`
    else if (token.length > MAX_TEXT) return `text value is longer than ${MAX_TEXT} characters`
    else value = token
  } else {
    const numbers: number[] = []
    for (let i = 0; i < tokens.length; i++) {
      const token = (tokens[i] as string).trim()
      const n = scanNumber(token)
      const problem = numberProblem(token, n, list ? `list item ${i + 1}` : `value ${i + 1}`)
      if (problem !== null) return list ? problem : `${problem} (several values must all be numbers)`
      numbers.push(n)
    }
    value = numbers.length === 1 ? (numbers[0] as number) : numbers
  }

  const count = tokens.length
  const fits = list ? units.length <= 1 || units.length === count : units.length === count || (units.length === 0 && count === 1)
  if (!fits) return `${count} value(s) but ${units.length} unit(s): give one unit per value (type,u1,u2=v1,v2)${list ? ', or one unit for the whole list' : ''}`
  return { type: sharedLabel(type), unit: mergeUnits(units), value }
}

/** Splits on `,` into at most MAX_VALUES parts; null when there are more (a long payload is not split whole). */
function splitCommas(text: string): string[] | null {
  let at = text.indexOf(',')
  // one part, the common case: no array grown by push
  if (at === -1) return [text]
  const parts: string[] = []
  let from = 0
  for (; at !== -1; at = text.indexOf(',', from)) {
    if (parts.length === MAX_VALUES - 1) return null
    parts.push(text.slice(from, at))
    from = at + 1
  }
  parts.push(text.slice(from))
  return parts
}

function mergeUnits(units: readonly (string | null)[]): string | null {
  const first = units[0] ?? null
  if (units.every((x) => x === first)) return first
  return units.map((x) => x ?? 'null').join(',')
}

/** `data/{channel}` in text. */
export function parseDataText(text: string, channel: string): Readings {
  const eq = text.indexOf('=')
  if (eq !== -1) {
    const typed = parseTyped(text, eq)
    return typeof typed === 'string' ? rejected(typed) : reading(channel, typed.type, typed.unit, typed.value)
  }
  const token = text.trim()
  const n = scanNumber(token)
  if (Number.isFinite(n)) return reading(channel, null, null, n)
  if (token === '') return rejected('empty value')
  if (token.includes(',')) return rejected(`bare value ${quote(token)} has a ','; several values need a type and units (type,u1,u2=v1,v2)`)
  if (!Number.isNaN(n) || isNonFiniteWord(token)) return rejected(`value ${quote(token)} is not a finite number`)
  return rejected(`bare value ${quote(token)} is not a number (a text value needs a type: type,unit=text)`)
}

/** `digital/{channel}`: a pin's state, 0 or 1. */
export function parseDigitalText(text: string, channel: string): Readings {
  const eq = text.indexOf('=')
  let type = 'digital_sensor'
  let unit: string | null = 'd'
  let value: Value
  if (eq !== -1) {
    const typed = parseTyped(text, eq)
    if (typeof typed === 'string') return rejected(typed)
    ;({ type, unit, value } = typed)
  } else {
    value = scanNumber(text.trim())
  }
  if (value !== 0 && value !== 1) return rejected(`a digital value is 0 or 1, not ${quote(eq === -1 ? text.trim() : String(value))}`)
  return reading(channel, type, unit, value)
}

/** `analog/{channel}`: `value` or `value,resolution`. */
export function parseAnalogText(text: string, channel: string): Readings {
  const eq = text.indexOf('=')
  if (eq !== -1) {
    const typed = parseTyped(text, eq)
    if (typeof typed === 'string') return rejected(typed)
    if (typeof typed.value === 'string') return rejected(`an analog value must be a number, not ${quote(typed.value)}`)
    return reading(channel, typed.type, typed.unit, typed.value)
  }
  const comma = text.indexOf(',')
  const token = (comma === -1 ? text : text.slice(0, comma)).trim()
  const n = scanNumber(token)
  const problem = numberProblem(token, n, 'analog value')
  if (problem !== null) return rejected(problem)
  if (comma === -1) return reading(channel, 'analog_sensor', null, n)
  const resolution = text.slice(comma + 1).trim()
  const r = scanNumber(resolution)
  const resolutionProblem = numberProblem(resolution, r, 'analog resolution')
  if (resolutionProblem !== null) return rejected(`${resolutionProblem} (the form is value or value,resolution)`)
  return reading(channel, 'analog_sensor', resolution, n)
}

/** `response`: a command's acknowledgement. */
export function parseResponseText(text: string): Interpretation {
  const form = `a response is ok,{seq} or error,{seq}={message}`
  const comma = text.indexOf(',')
  if (comma === -1) return rejected(`${form}; got ${quote(text.trim())}`)
  const status = text.slice(0, comma).trim()
  const rest = text.slice(comma + 1)
  let seq: string
  let message: string | null = null
  if (status === 'ok') {
    seq = rest.trim()
  } else if (status === 'error') {
    const eq = rest.indexOf('=')
    seq = (eq === -1 ? rest : rest.slice(0, eq)).trim()
    if (eq !== -1) message = rest.slice(eq + 1).trim() || null
  } else {
    return rejected(`${form}; ${quote(status)} is neither ok nor error`)
  }
  if (seq === '') return rejected(`${form}; the seq is missing`)
  if (seq.length > MAX_SEQ) return rejected(`the seq is longer than ${MAX_SEQ} characters`)
  return { kind: 'response', seq, ok: status === 'ok', message }
}

/** `sys/{key}`: a fact the device tells about itself, trimmed. */
export function parseSysText(key: string, text: string): Interpretation {
  const value = text.trim()
  if (value === '') return rejected(`sys/${key}: empty value`)
  return { kind: 'sys', key, value }
}

/**
 * A command as devices read it on `cmd/{channel}`: `seq,value`, booleans as 1/0. Devices
 * split on the first comma, so a seq with a comma (or none at all) would be misread.
 */
export function formatCommandPayload(seq: number | string, value: string | number | boolean): string {
  const s = String(seq)
  if (s === '' || s.includes(',')) throw new RangeError(`a command seq must be non-empty and without ',': ${quote(s)}`)
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError(`a command value must be finite, not ${value}`)
  return `${s},${typeof value === 'boolean' ? (value ? 1 : 0) : value}`
}
