/**
 * What the telemetry stream carries: one JSON message per record, keyed by thing id.
 * The Aedes bridge and the HTTP ingest write them (already parsed, or rejected with the
 * reason); the telemetry processor turns them into events. A record is never dropped:
 * what cannot be parsed is kept as `rejected`, so an auditor sees it.
 */
export interface Reading {
  /** `"2"` for an MQTT channel; the Cayenne agent's channels are text (`sys:cpu;load`) */
  readonly channel: string
  readonly type: string | null
  readonly unit: string | null
  /** one number; several for multi-value forms (accelerometer x,y,z; GPS lat,lon,alt); or text */
  readonly value: number | readonly number[] | string
}

interface MessageBase {
  readonly thingId: string
  readonly accountId: string
  /** ISO time the server received it */
  readonly receivedAt: string
}

export type TelemetryMessage =
  | (MessageBase & {
      readonly kind: 'readings'
      readonly source: 'mqtt' | 'http'
      readonly topic: string | null
      readonly readings: readonly Reading[]
      /** the raw payload as base64 (the HTTP ingest: its JSON body), kept so the readings can be decoded again */
      readonly payload?: string
    })
  /** an answer on `.../response`: `ok,seq` or `error,seq=message` */
  | (MessageBase & { readonly kind: 'response'; readonly seq: string; readonly ok: boolean; readonly message: string | null })
  /** a `sys/*` fact: key `model`, `version`, `cpu/model`, `cpu/speed`, `conn`, ... */
  | (MessageBase & { readonly kind: 'sys'; readonly key: string; readonly value: string })
  /** the device's connection opened or closed; `username` is the MQTT client id it used */
  | (MessageBase & { readonly kind: 'connected' | 'disconnected'; readonly username: string })
  | (MessageBase & {
      readonly kind: 'rejected'
      readonly source: 'mqtt' | 'http'
      readonly topic: string | null
      /** the payload as base64, at most 4 KiB of it */
      readonly payload: string
      readonly reason: string
    })

export type TelemetryMessageKind = TelemetryMessage['kind']
