/** From the API's job fields to the domain's definition, and the checks that need the read models. */
import type { z } from 'zod'
import { ValidationError, type ErrorDetail } from '../../domain/errors.ts'
import type { JobAction, JobDefinition, JobHttpPush, JobNotification } from '../../domain/job/job.ts'
import type { JobConfig } from '../../domain/job/schedule.ts'
import type { JsonValue } from '../../domain/thing/thing.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingOfAccount } from '../../projections/things.ts'
import type { createJobBody, updateJobBody } from './schemas.ts'

type Body = z.output<typeof updateJobBody>
type Items = Pick<JobDefinition, 'notifications' | 'httpPush' | 'actions'>

const configOf = (c: Body['config']): JobConfig => ({
  type: c.type,
  interval: c.type === 'interval' ? c.interval : null,
  unit: c.type === 'interval' ? c.unit : null,
  startDate: c.start_date,
  tz: c.tz,
  missed: c.missed,
})

/**
 * Items keep their ids: one sent back with the `_id` of an item the job has, or equal to
 * one it has, is that item; anything else is a new item with a new id.
 */
function withIds<T extends { readonly id: string }>(items: readonly (Omit<T, 'id'> & { _id?: string })[], current: readonly T[], newId: () => string): T[] {
  const free = new Map(current.map((item) => [item.id, item]))
  const sameContent = (a: object, b: object): boolean => JSON.stringify(a) === JSON.stringify(b)
  return items.map(({ _id, ...content }) => {
    let id = _id !== undefined && free.has(_id) ? _id : undefined
    id ??= [...free.values()].find(({ id: _ignored, ...other }) => sameContent(other, content))?.id
    id ??= newId()
    free.delete(id)
    return { id, ...content } as unknown as T
  })
}

const notificationsOf = (body: NonNullable<Body['notifications']>, current: Items, newId: () => string) =>
  withIds<JobNotification>(body.map((n) => ({ ...(n._id ? { _id: n._id } : {}), method: n.method, value: n.value })), current.notifications, newId)

const httpPushOf = (body: NonNullable<Body['http_push']>, current: Items, newId: () => string) =>
  withIds<JobHttpPush>(
    body.map((p) => ({ ...(p._id ? { _id: p._id } : {}), url: p.url, method: p.method, headers: p.headers, payload: p.payload as JsonValue })),
    current.httpPush,
    newId,
  )

const actionsOf = (body: NonNullable<Body['actions']>, current: Items, newId: () => string) =>
  withIds<JobAction>(
    body.map((a) => ({
      ...(a._id ? { _id: a._id } : {}),
      thingId: a.thing_id.toLowerCase(),
      sensorId: a.sensor_id,
      unit: a.unit,
      value: a.value,
      channel: a.channel,
    })),
    current.actions,
    newId,
  )

const noItems: Items = { notifications: [], httpPush: [], actions: [] }

export function definitionOf(body: z.output<typeof createJobBody>, newId: () => string): JobDefinition {
  return {
    title: body.title,
    config: configOf(body.config),
    notifications: notificationsOf(body.notifications, noItems, newId),
    httpPush: httpPushOf(body.http_push, noItems, newId),
    actions: actionsOf(body.actions, noItems, newId),
    active: body.active,
  }
}

/** The config and the fields the body names; `current` is the job's items, whose ids are kept. */
export function changesOf(body: Body, current: Items, newId: () => string): Partial<JobDefinition> & { config: JobConfig } {
  const changes: { -readonly [K in keyof JobDefinition]?: JobDefinition[K] } & { config: JobConfig } = { config: configOf(body.config) }
  if (body.title !== undefined) changes.title = body.title
  if (body.notifications !== undefined) changes.notifications = notificationsOf(body.notifications, current, newId)
  if (body.http_push !== undefined) changes.httpPush = httpPushOf(body.http_push, current, newId)
  if (body.actions !== undefined) changes.actions = actionsOf(body.actions, current, newId)
  if (body.active !== undefined) changes.active = body.active
  return changes
}

/** Every thing an action commands must be a thing of the account that is not deactivated: a 400 naming each field that is not. */
export async function checkThings(readStore: ReadStore, accountId: string, actions: readonly JobAction[] | undefined): Promise<void> {
  const details: ErrorDetail[] = []
  for (const [i, action] of (actions ?? []).entries()) {
    const field = `actions.${i}.thing_id`
    const thing = await thingOfAccount(readStore, accountId, action.thingId)
    if (!thing) details.push({ field, problem: `no thing ${action.thingId} in this account` })
    else if (thing.status === 'DEACTIVATED') details.push({ field, problem: `thing ${action.thingId} is deactivated` })
  }
  if (details.length > 0) {
    throw new ValidationError(`Unknown things: ${details.map((d) => `${d.field} ${d.problem}`).join('; ')}`, details, 'unknown_thing')
  }
}
