/**
 * Read model `jobs`: one document per job in the API's response shape plus the owning
 * account and `scheduled` (active with a next run), which the scheduler's query of the
 * jobs due soonest filters on. A deleted job's document is removed.
 */
import { nextRuntimeAfterRun, type ExistingJob, type JobDefinition, type JobEvent } from '../domain/job/job.ts'
import type { JobConfig } from '../domain/job/schedule.ts'
import type { JsonValue } from '../domain/thing/thing.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface JobConfigView {
  readonly type: JobConfig['type']
  readonly interval: number | null
  readonly unit: JobConfig['unit']
  readonly start_date: string
  readonly tz: string
  readonly missed: JobConfig['missed']
}

export interface JobView {
  readonly _id: string
  readonly created_at: string
  readonly updated_at: string
  readonly title: string
  readonly account_id: string
  readonly next_runtime: string | null
  readonly __v: number
  readonly config: JobConfigView
  readonly notifications: readonly { readonly _id: string; readonly method: string; readonly value: string }[]
  readonly http_push: readonly {
    readonly _id: string
    readonly url: string
    readonly method: string
    readonly headers: { readonly [name: string]: string }
    readonly payload: JsonValue | null
  }[]
  readonly actions: readonly {
    readonly _id: string
    readonly thing_id: string
    readonly sensor_id: string | null
    readonly unit: string | null
    readonly value: string | number | boolean
    readonly channel: string
  }[]
  readonly active: boolean
}

export type JobDocument = Omit<JobView, '_id' | '__v'> & {
  readonly id: string
  readonly revision: number
  /** active with a next run: what the scheduler looks at */
  readonly scheduled: boolean
  readonly [field: string]: unknown
}

export const configView = (c: JobConfig): JobConfigView => ({
  type: c.type,
  interval: c.interval,
  unit: c.unit,
  start_date: c.startDate,
  tz: c.tz,
  missed: c.missed,
})

export const configOfView = (c: JobConfigView): JobConfig => ({
  type: c.type,
  interval: c.interval,
  unit: c.unit,
  startDate: c.start_date,
  tz: c.tz,
  missed: c.missed,
})

function definitionView(d: JobDefinition): Pick<JobView, 'title' | 'config' | 'notifications' | 'http_push' | 'actions' | 'active'> {
  return {
    title: d.title,
    config: configView(d.config),
    notifications: d.notifications.map((n) => ({ _id: n.id, method: n.method, value: n.value })),
    http_push: d.httpPush.map((p) => ({ _id: p.id, url: p.url, method: p.method, headers: p.headers, payload: p.payload })),
    actions: d.actions.map((a) => ({ _id: a.id, thing_id: a.thingId, sensor_id: a.sensorId, unit: a.unit, value: a.value, channel: a.channel })),
    active: d.active,
  }
}

/** The response for a job just written, from the decided state and the stream's revision. */
export function jobViewOf(state: ExistingJob, revision: number): JobView {
  return {
    _id: state.jobId,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    account_id: state.accountId,
    next_runtime: state.nextRuntime,
    __v: revision,
    ...definitionView(state),
  }
}

/** Internal fields never leave the server. */
export function toJobView(d: JobDocument): JobView {
  return {
    _id: d.id,
    created_at: d.created_at,
    updated_at: d.updated_at,
    title: d.title,
    account_id: d.account_id,
    next_runtime: d.next_runtime,
    __v: d.revision,
    config: d.config,
    notifications: d.notifications,
    http_push: d.http_push,
    actions: d.actions,
    active: d.active,
  }
}

const withNextRuntime = (d: JobDocument, nextRuntime: string | null, revision: number, active = d.active): JobDocument => ({
  ...d,
  active,
  next_runtime: nextRuntime,
  scheduled: active && nextRuntime !== null,
  revision,
})

export const jobsProjection = projection<JobEvent, JobDocument>({
  name: 'jobs',
  version: 1,
  collection: 'jobs',
  indexes: ['account_id', 'scheduled', 'next_runtime'],
  canHandle: ['JobScheduled', 'JobUpdated', 'JobDeleted', 'JobFired', 'JobRunSkipped', 'JobDeactivated'],
  documentId: (event) => event.data.jobId,
  evolve(document, event) {
    switch (event.type) {
      case 'JobScheduled': {
        const d = event.data
        return {
          id: d.jobId,
          created_at: d.scheduledAt,
          updated_at: d.scheduledAt,
          account_id: d.accountId,
          ...definitionView(d),
          next_runtime: d.nextRuntime,
          scheduled: d.active && d.nextRuntime !== null,
          revision: event.revision,
        }
      }
      case 'JobUpdated': {
        if (!document) return null
        const d = event.data
        return withNextRuntime({ ...document, ...definitionView(d), updated_at: d.updatedAt }, d.nextRuntime, event.revision)
      }
      case 'JobFired':
      case 'JobRunSkipped':
        if (!document) return null
        return withNextRuntime(document, nextRuntimeAfterRun(configOfView(document.config), event.data.occurrence), event.revision)
      case 'JobDeactivated':
        if (!document) return null
        return withNextRuntime(document, null, event.revision, false)
      case 'JobDeleted':
        return null
    }
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<JobDocument>(jobsProjection.collection)

/** The account's job; another account's is "not found". */
export async function jobOfAccount(readStore: ReadStore, accountId: string, jobId: string): Promise<JobDocument | undefined> {
  const document = await collectionOf(readStore).get(jobId)
  return document && document.account_id === accountId ? document : undefined
}

export function jobsOf(readStore: ReadStore, accountId: string): Promise<JobDocument[]> {
  return collectionOf(readStore).find({ account_id: accountId }, { orderBy: 'created_at' })
}

/** The scheduled jobs whose next run comes first (the scheduler's query). */
export function jobsDueFirst(readStore: ReadStore, limit: number): Promise<JobDocument[]> {
  return collectionOf(readStore).find({ scheduled: true }, { orderBy: 'next_runtime', limit })
}
