/**
 * Binary payload codecs by provisioning codec name (the `codec` of a provisioned device):
 * a codec decodes a whole `data/{channel}` payload into readings. `lpp` (Cayenne LPP) is
 * built in; a deployment, or a test, may register another, or a fixed version of one
 * under the same name, before it starts: the bridge and `redecode` look codecs up by name
 * on every payload, so a re-decode uses the codec as registered now. Names compare without
 * case or surrounding blanks; a name nobody registered means the text codecs.
 */
import type { Interpretation } from './interpretation.ts'
import { decodeLpp } from './lpp.ts'

export type PayloadCodec = (payload: Uint8Array) => Extract<Interpretation, { kind: 'readings' | 'rejected' }>

const codecs = new Map<string, PayloadCodec>([['lpp', decodeLpp]])

const normalized = (name: string): string => name.trim().toLowerCase()

/** The binary codec of that name; undefined for null or a name nobody registered (the text codecs apply). */
export function payloadCodecOf(name: string | null): PayloadCodec | undefined {
  return name === null ? undefined : codecs.get(normalized(name))
}

/** Registers (or replaces) a codec under a name. */
export function registerPayloadCodec(name: string, codec: PayloadCodec): void {
  codecs.set(normalized(name), codec)
}

/** The names of the registered codecs. */
export function payloadCodecNames(): string[] {
  return [...codecs.keys()]
}
