/** The public API, with the dashboard's token: JSON in, JSON out, errors as ApiError. */
import { accessToken, renewAccessToken } from './auth.ts'

export interface Problem {
  readonly field: string
  readonly problem: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: readonly Problem[] = [],
  ) {
    super(message)
  }
}

/** fetch with the bearer token; one retry with a renewed token after a 401. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const send = (token: string) => fetch(path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } })
  let response = await send(await accessToken())
  if (response.status === 401) response = await send(await renewAccessToken())
  return response
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await authorizedFetch(path, {
    method,
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  const parsed = text ? (JSON.parse(text) as unknown) : undefined
  if (!response.ok) {
    const error = (parsed ?? {}) as { message?: string; details?: Problem[] }
    throw new ApiError(response.status, error.message ?? `${method} ${path} answered ${response.status}`, error.details ?? [])
  }
  return parsed as T
}

export const get = <T>(path: string) => api<T>('GET', path)
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {})
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body)
export const del = <T>(path: string) => api<T>('DELETE', path)

// The shapes the dashboard reads (see /openapi.json) --------------------------------------

export interface Thing {
  id: string
  name: string
  device_type_id: string
  parent_id: string | null
  hardware_id: string | null
  active: 0 | 1
  status: string
  last_online: number
  children?: Thing[]
}

export interface ThingType {
  id: string
  name: string
}

export interface Reading {
  channel: string
  value: number | number[] | string
  type: string | null
  unit: string | null
  timestamp: string
}

export interface ChannelHistory {
  points: { timestamp: string; value: number | (number | null)[] | string | null }[]
}

export interface ThingCommand {
  id: string
  seq: number
  channel: number
  value: number | string | boolean
  state: 'requested' | 'delivered' | 'acknowledged' | 'failed' | 'timed_out'
  reason: string | null
  requested_at: string
  updated_at: string
}

export interface HistoryEntry {
  position: number
  type: string
  time: string
  actor: { type: string; id: string }
  data: Record<string, unknown>
}

export interface Rule {
  id: string
  title: string
  enabled: boolean
  triggers: { id: string; channel: string; conditions: { value: string | number; operator: string }[] }[]
  actions: { id: string; channel: string; value: unknown }[]
  notifications: { method: string; value: string }[]
  http_push: { url: string; method: string }[]
}

export interface Simulation {
  fires: { at: string; thing_id: string; channel: string; value: number | string | number[] }[]
  evaluated: number
}

export interface Job {
  _id: string
  title: string
  active: boolean
  next_runtime: string | null
  config: { type: string; interval: number | null; unit: string | null; start_date: string; tz: string }
  actions: { thing_id: string; channel: string; value: unknown }[]
  notifications: { method: string; value: string }[]
  http_push: { url: string }[]
}

export interface JobRun {
  id: string
  occurrence: string
  status: string
  reason: string
  fired_at: string | null
  outcomes: { delivery_id: string; effect: string; target: string; status: string; attempts: number; reason: string | null }[]
}

export interface Delivery {
  id: string
  status: string
  channel: string
  target: string
  cause: { type: string; id: string; title: string; effect: string }
  attempts: { attempt: number; outcome: string; error: string | null; at: string }[]
  reason: string | null
  next_attempt_at: string | null
  updated_at: string
}

export interface MqttCredentials {
  id: string
  clear_secret: string
}
