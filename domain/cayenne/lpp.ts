/**
 * Cayenne LPP (Low Power Payload), as LoRa gateways forward it: records of
 * `[channel:1][type:1][data:N]` back to back, N fixed by the type, big-endian, signed
 * fields in two's complement of their own width, value = raw / divisor.
 *
 * Each record becomes a Reading named the way Cayenne names data types:
 *
 * | LPP (code)             | type             | unit | value        |
 * | ---------------------- | ---------------- | ---- | ------------ |
 * | digital_in (0)         | digital_sensor   | d    | 0..255       |
 * | digital_out (1)        | digital_actuator | d    | 0..255       |
 * | analog_in (2)          | analog_sensor    | null | /100 signed  |
 * | analog_out (3)         | analog_actuator  | null | /100 signed  |
 * | generic (100)          | generic          | null | u32          |
 * | illuminance (101)      | lum              | lux  | u16          |
 * | presence (102)         | motion           | d    | u8           |
 * | temperature (103)      | temp             | c    | /10 signed   |
 * | humidity (104)         | rel_hum          | p    | /2           |
 * | accelerometer (113)    | accel            | g    | [x,y,z] /1000 signed |
 * | barometer (115)        | bp               | hpa  | /10          |
 * | voltage (116)          | voltage          | v    | /100         |
 * | current (117)          | current          | a    | /1000        |
 * | frequency (118)        | freq             | hz   | u32          |
 * | percentage (120)       | percentage       | p    | u8           |
 * | altitude (121)         | alt              | m    | s16          |
 * | load (122)             | weight           | kg   | /1000 signed 24-bit |
 * | concentration (125)    | concentration    | ppm  | u16          |
 * | power (128)            | pow              | w    | u16          |
 * | distance (130)         | prox             | m    | /1000 u32    |
 * | energy (131)           | energy           | kwh  | /1000 u32    |
 * | direction (132)        | ori_azim         | deg  | u16          |
 * | unix_time (133)        | unix_time        | sec  | u32 seconds  |
 * | gyrometer (134)        | gyro             | dps  | [x,y,z] /100 signed |
 * | colour (135)           | color            | null | [r,g,b]      |
 * | gps (136)              | gps              | m    | [lat,lon /10000, alt /100] signed 24-bit |
 * | switch (142)           | switch           | d    | u8           |
 *
 * Voltage and current are unsigned (as pycayennelpp and the JS decoder read them;
 * ElectronicCats' `getTypeSigned()` disagrees with its own comments). Polyline (240) has a
 * variable length and no Cayenne reading shape: it is refused by name.
 */
import type { Reading } from '../telemetry/telemetry-message.ts'
import type { Interpretation } from './interpretation.ts'

export interface Field {
  readonly bytes: 1 | 2 | 3 | 4
  readonly signed: boolean
  readonly divisor: number
}

const u = (bytes: Field['bytes'], divisor = 1): Field => ({ bytes, signed: false, divisor })
const s = (bytes: Field['bytes'], divisor = 1): Field => ({ bytes, signed: true, divisor })

const lppTypes = [
  { code: 0, name: 'digital_in', type: 'digital_sensor', unit: 'd', fields: [u(1)] },
  { code: 1, name: 'digital_out', type: 'digital_actuator', unit: 'd', fields: [u(1)] },
  { code: 2, name: 'analog_in', type: 'analog_sensor', unit: null, fields: [s(2, 100)] },
  { code: 3, name: 'analog_out', type: 'analog_actuator', unit: null, fields: [s(2, 100)] },
  { code: 100, name: 'generic', type: 'generic', unit: null, fields: [u(4)] },
  { code: 101, name: 'illuminance', type: 'lum', unit: 'lux', fields: [u(2)] },
  { code: 102, name: 'presence', type: 'motion', unit: 'd', fields: [u(1)] },
  { code: 103, name: 'temperature', type: 'temp', unit: 'c', fields: [s(2, 10)] },
  { code: 104, name: 'humidity', type: 'rel_hum', unit: 'p', fields: [u(1, 2)] },
  { code: 113, name: 'accelerometer', type: 'accel', unit: 'g', fields: [s(2, 1000), s(2, 1000), s(2, 1000)] },
  { code: 115, name: 'barometer', type: 'bp', unit: 'hpa', fields: [u(2, 10)] },
  { code: 116, name: 'voltage', type: 'voltage', unit: 'v', fields: [u(2, 100)] },
  { code: 117, name: 'current', type: 'current', unit: 'a', fields: [u(2, 1000)] },
  { code: 118, name: 'frequency', type: 'freq', unit: 'hz', fields: [u(4)] },
  { code: 120, name: 'percentage', type: 'percentage', unit: 'p', fields: [u(1)] },
  { code: 121, name: 'altitude', type: 'alt', unit: 'm', fields: [s(2)] },
  { code: 122, name: 'load', type: 'weight', unit: 'kg', fields: [s(3, 1000)] },
  { code: 125, name: 'concentration', type: 'concentration', unit: 'ppm', fields: [u(2)] },
  { code: 128, name: 'power', type: 'pow', unit: 'w', fields: [u(2)] },
  { code: 130, name: 'distance', type: 'prox', unit: 'm', fields: [u(4, 1000)] },
  { code: 131, name: 'energy', type: 'energy', unit: 'kwh', fields: [u(4, 1000)] },
  { code: 132, name: 'direction', type: 'ori_azim', unit: 'deg', fields: [u(2)] },
  { code: 133, name: 'unix_time', type: 'unix_time', unit: 'sec', fields: [u(4)] },
  { code: 134, name: 'gyrometer', type: 'gyro', unit: 'dps', fields: [s(2, 100), s(2, 100), s(2, 100)] },
  { code: 135, name: 'colour', type: 'color', unit: null, fields: [u(1), u(1), u(1)] },
  { code: 136, name: 'gps', type: 'gps', unit: 'm', fields: [s(3, 10000), s(3, 10000), s(3, 100)] },
  { code: 142, name: 'switch', type: 'switch', unit: 'd', fields: [u(1)] },
] as const

export type LppTypeName = (typeof lppTypes)[number]['name']
type LppType = (typeof lppTypes)[number]

/** One LPP record: `value` is one number, or one per field (accelerometer, gyrometer, colour, GPS). */
export interface LppRecord {
  readonly channel: number
  readonly type: LppTypeName
  readonly value: number | readonly number[]
}

const byName = new Map<string, LppType>()
for (const t of lppTypes) byName.set(t.name, t)
const dataBytes = (t: Pick<LppType, 'fields'> | LppTypeDefinition): number => t.fields.reduce((n, f) => n + f.bytes, 0)

/** One type of an LPP type table: what its code reads as. */
export interface LppTypeDefinition {
  readonly code: number
  readonly name: string
  readonly type: string
  readonly unit: string | null
  readonly fields: readonly Field[]
}

/** Every LPP type this codec knows, with its code and field layout (tests and benches generate from it). */
export const lppTypeTable: readonly (LppTypeDefinition & { readonly name: LppTypeName })[] = lppTypes

const POLYLINE = 240
/** A frame is read into at most this many readings (the same bound as a `data/json` array). */
export const MAX_LPP_RECORDS = 1000

const hex = (b: number): string => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`

type Decoded = Extract<Interpretation, { kind: 'readings' | 'rejected' }>
const rejected = (reason: string): Decoded => ({ kind: 'rejected', reason })

/**
 * A decoder for a type table: the standard one (decodeLpp), or another (a codec variant,
 * domain/cayenne/codecs.ts). Decodes a whole frame; anything it cannot read is rejected
 * with the byte offset.
 */
export function createLppDecoder(table: readonly LppTypeDefinition[]): (frame: Uint8Array) => Decoded {
  const byCode: (LppTypeDefinition | undefined)[] = new Array(256)
  for (const t of table) byCode[t.code] = t
  return (frame) => decodeWith(byCode, frame)
}

function decodeWith(byCode: readonly (LppTypeDefinition | undefined)[], frame: Uint8Array): Decoded {
  const length = frame.length
  if (length === 0) return rejected('empty LPP frame')
  const readings: Reading[] = []
  let at = 0
  while (at < length) {
    if (at + 1 >= length) return rejected(`LPP: a lone byte at offset ${at} after the last record (a record needs a channel and a type byte)`)
    const channel = frame[at] as number
    const code = frame[at + 1] as number
    const type = byCode[code]
    if (type === undefined) {
      if (code === POLYLINE) return rejected(`LPP: type ${hex(code)} (polyline) at byte ${at + 1} is not supported`)
      return rejected(`LPP: unknown type ${hex(code)} at byte ${at + 1}`)
    }
    const need = dataBytes(type)
    const left = length - at - 2
    if (left < need) return rejected(`LPP: truncated ${type.name} record at byte ${at}: needs ${need} data bytes, ${left} left`)
    if (readings.length === MAX_LPP_RECORDS) return rejected(`LPP: more than ${MAX_LPP_RECORDS} records (the next one at byte ${at})`)
    let p = at + 2
    let value: number | number[]
    if (type.fields.length === 1) {
      value = readField(frame, p, type.fields[0]!)
    } else {
      value = []
      for (const f of type.fields) {
        value.push(readField(frame, p, f))
        p += f.bytes
      }
    }
    readings.push({ channel: String(channel), type: type.type, unit: type.unit, value })
    at += 2 + need
  }
  return { kind: 'readings', readings }
}

/** Decodes a whole frame with the standard type table. */
export const decodeLpp = createLppDecoder(lppTypes)

function readField(frame: Uint8Array, at: number, f: Field): number {
  let raw = 0
  for (let i = 0; i < f.bytes; i++) raw = raw * 256 + (frame[at + i] as number)
  if (f.signed && raw >= 2 ** (8 * f.bytes - 1)) raw -= 2 ** (8 * f.bytes)
  return raw / f.divisor
}

/** Encodes records (for tests, benches and tools); throws a RangeError on a value the type cannot carry. */
export function encodeLpp(records: readonly LppRecord[]): Uint8Array {
  const types = records.map((r) => {
    const t = byName.get(r.type)
    if (t === undefined) throw new RangeError(`unknown LPP type ${String(r.type)}`)
    return t
  })
  const out = new Uint8Array(types.reduce((n, t) => n + 2 + dataBytes(t), 0))
  let at = 0
  records.forEach((r, i) => {
    const t = types[i] as LppType
    if (!Number.isInteger(r.channel) || r.channel < 0 || r.channel > 255) throw new RangeError(`LPP channel ${r.channel} is not 0..255`)
    const values = typeof r.value === 'number' ? [r.value] : r.value
    if (values.length !== t.fields.length) throw new RangeError(`LPP ${t.name} takes ${t.fields.length} value(s), got ${values.length}`)
    out[at] = r.channel
    out[at + 1] = t.code
    at += 2
    t.fields.forEach((f, k) => {
      writeField(out, at, f, values[k] as number, t.name)
      at += f.bytes
    })
  })
  return out
}

function writeField(out: Uint8Array, at: number, f: Field, value: number, name: string): void {
  const raw = Math.round(value * f.divisor)
  const span = 2 ** (8 * f.bytes)
  const [min, max] = f.signed ? [-span / 2, span / 2 - 1] : [0, span - 1]
  if (!Number.isFinite(raw) || raw < min || raw > max) throw new RangeError(`LPP ${name}: ${value} does not fit (raw ${min}..${max}, divisor ${f.divisor})`)
  let bits = raw < 0 ? raw + span : raw
  for (let i = f.bytes - 1; i >= 0; i--) {
    out[at + i] = bits % 256
    bits = Math.floor(bits / 256)
  }
}
