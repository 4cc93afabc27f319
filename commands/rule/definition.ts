/** From the API's rule fields to the domain's definition, and the checks that need the read models. */
import type { z } from 'zod'
import type { Effects } from '../../domain/automation/effects.ts'
import { ValidationError, type ErrorDetail } from '../../domain/errors.ts'
import type { RuleDefinition } from '../../domain/rule/rule.ts'
import type { JsonValue } from '../../domain/thing/thing.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingOfAccount } from '../../projections/things.ts'
import type { createRuleBody, updateRuleBody } from './schemas.ts'

type Fields = z.output<typeof updateRuleBody>

const triggersOf = (triggers: NonNullable<Fields['triggers']>): RuleDefinition['triggers'] =>
  triggers.map((t) => ({
    thingId: t.id,
    channel: t.channel,
    unit: t.unit,
    geofence: t.geofence,
    conditions: t.conditions.map((c) => ({ operator: c.operator, value: c.value })),
  }))

const actionsOf = (actions: NonNullable<Fields['actions']>): Effects['actions'] =>
  actions.map((a) => ({ thingId: a.id, channel: a.channel, unit: a.unit, value: a.value }))

const notificationsOf = (notifications: NonNullable<Fields['notifications']>): Effects['notifications'] =>
  notifications.map((n) => ({ method: n.method, value: n.value, body: n.body ?? null }))

const httpPushOf = (pushes: NonNullable<Fields['http_push']>): Effects['httpPush'] =>
  pushes.map((p) => ({ method: p.method, url: p.url, headers: p.headers, payload: p.payload as JsonValue }))

export function definitionOf(body: z.output<typeof createRuleBody>): RuleDefinition {
  return {
    title: body.title,
    enabled: body.enabled,
    triggers: triggersOf(body.triggers),
    triggersCondition: body.triggers_condition,
    cooldownSeconds: body.cooldown_seconds || null,
    actions: actionsOf(body.actions),
    notifications: notificationsOf(body.notifications),
    httpPush: httpPushOf(body.http_push),
  }
}

/** Only the fields the body names. */
export function changesOf(body: Fields): Partial<RuleDefinition> {
  const changes: { -readonly [K in keyof RuleDefinition]?: RuleDefinition[K] } = {}
  if (body.title !== undefined) changes.title = body.title
  if (body.enabled !== undefined) changes.enabled = body.enabled
  if (body.triggers !== undefined) changes.triggers = triggersOf(body.triggers)
  if (body.triggers_condition !== undefined) changes.triggersCondition = body.triggers_condition
  if (body.cooldown_seconds !== undefined) changes.cooldownSeconds = body.cooldown_seconds || null
  if (body.actions !== undefined) changes.actions = actionsOf(body.actions)
  if (body.notifications !== undefined) changes.notifications = notificationsOf(body.notifications)
  if (body.http_push !== undefined) changes.httpPush = httpPushOf(body.http_push)
  return changes
}

/**
 * Every thing a trigger watches or an action commands must be a thing of the account
 * that is not deactivated: a 400 naming each field that is not.
 */
export async function checkThings(
  readStore: ReadStore,
  accountId: string,
  definition: Pick<Partial<RuleDefinition>, 'triggers' | 'actions'>,
): Promise<void> {
  const named = [
    ...(definition.triggers ?? []).map((t, i) => ({ field: `triggers.${i}.id`, thingId: t.thingId })),
    ...(definition.actions ?? []).map((a, i) => ({ field: `actions.${i}.id`, thingId: a.thingId })),
  ]
  const details: ErrorDetail[] = []
  for (const { field, thingId } of named) {
    const thing = await thingOfAccount(readStore, accountId, thingId)
    if (!thing) details.push({ field, problem: `no thing ${thingId} in this account` })
    else if (thing.status === 'DEACTIVATED') details.push({ field, problem: `thing ${thingId} is deactivated` })
  }
  if (details.length > 0) {
    throw new ValidationError(`Unknown things: ${details.map((d) => `${d.field} ${d.problem}`).join('; ')}`, details, 'unknown_thing')
  }
}
