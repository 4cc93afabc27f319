/**
 * Read model `rules`: one document per rule (deleted rules are removed), holding the
 * rule's whole folded state: its definition for the GET endpoints, and whether it is
 * armed, what its triggers last were and the last reading key per thing, so the rule
 * engine starts from these documents and the projection's checkpoint instead of
 * folding every rule stream. The API's shape is made from it by `toRuleView`.
 */
import type { Effects } from '../domain/automation/effects.ts'
import type { JsonValue } from '../domain/thing/thing.ts'
import type { ComparisonOperator, TriggersCondition } from '../domain/rule/conditions.ts'
import { ruleDecider, ruleEventTypes, type ExistingRule, type RuleDefinition, type RuleEvent } from '../domain/rule/rule.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export type RuleDocument = {
  readonly id: string
  readonly account_id: string
  readonly revision: number
  readonly created_at: string
  readonly updated_at: string
  readonly definition: RuleDefinition
  readonly armed: boolean
  readonly last_fired_at: string | null
  readonly holding: readonly boolean[]
  readonly last_keys: { readonly [thingId: string]: string }
  readonly [field: string]: unknown
}

/** The API text's rule object, plus `id`, the times and the fields beyond the text. */
export interface RuleView {
  readonly id: string
  readonly account_id: string
  readonly title: string
  readonly enabled: boolean
  readonly triggers_condition: TriggersCondition
  readonly cooldown_seconds: number | null
  readonly triggers: readonly {
    readonly id: string
    readonly channel: string
    readonly unit: string | null
    readonly geofence: boolean
    readonly conditions: readonly { readonly value: string | number; readonly operator: ComparisonOperator }[]
  }[]
  readonly actions: readonly { readonly id: string; readonly channel: string; readonly unit: string | null; readonly value: string | number | boolean }[]
  readonly notifications: readonly { readonly method: string; readonly value: string; readonly body: string | null }[]
  readonly http_push: readonly {
    readonly url: string
    readonly method: string
    readonly payload: JsonValue | null
    readonly headers: { readonly [name: string]: string }
  }[]
  readonly created_at: string
  readonly updated_at: string
}

function ruleViewOf(id: string, accountId: string, definition: RuleDefinition, createdAt: string, updatedAt: string): RuleView {
  return {
    id,
    account_id: accountId,
    title: definition.title,
    enabled: definition.enabled,
    triggers_condition: definition.triggersCondition,
    cooldown_seconds: definition.cooldownSeconds,
    triggers: definition.triggers.map((t) => ({
      id: t.thingId,
      channel: t.channel,
      unit: t.unit,
      geofence: t.geofence,
      conditions: t.conditions.map((c) => ({ value: c.value, operator: c.operator })),
    })),
    ...effectsView(definition),
    created_at: createdAt,
    updated_at: updatedAt,
  }
}

function effectsView(effects: Effects): Pick<RuleView, 'actions' | 'notifications' | 'http_push'> {
  return {
    actions: effects.actions.map((a) => ({ id: a.thingId, channel: a.channel, unit: a.unit, value: a.value })),
    notifications: effects.notifications.map((n) => ({ method: n.method, value: n.value, body: n.body })),
    http_push: effects.httpPush.map((p) => ({ url: p.url, method: p.method, payload: p.payload, headers: p.headers })),
  }
}

export const toRuleView = (document: RuleDocument): RuleView =>
  ruleViewOf(document.id, document.account_id, document.definition, document.created_at, document.updated_at)

export function ruleStateOf(document: RuleDocument): ExistingRule {
  return {
    status: 'active',
    ruleId: document.id,
    accountId: document.account_id,
    definition: document.definition,
    createdAt: document.created_at,
    updatedAt: document.updated_at,
    armed: document.armed,
    lastFiredAt: document.last_fired_at,
    holding: document.holding,
    lastKeys: document.last_keys,
  }
}

function documentOf(state: ExistingRule, revision: number): RuleDocument {
  return {
    id: state.ruleId,
    account_id: state.accountId,
    revision,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    definition: state.definition,
    armed: state.armed,
    last_fired_at: state.lastFiredAt,
    holding: state.holding,
    last_keys: state.lastKeys,
  }
}

export const rulesProjection = projection<RuleEvent, RuleDocument>({
  name: 'rules',
  version: 1,
  collection: 'rules',
  indexes: ['account_id'],
  canHandle: [...ruleEventTypes],
  documentId: (event) => event.data.ruleId,
  evolve(document, event) {
    // The rule's own evolve: the document is exactly the state the decider folds.
    if (document && event.revision <= document.revision) return document
    const before = document ? ruleStateOf(document) : ruleDecider.initialState
    const after = ruleDecider.evolve(before, event)
    return after.status === 'active' ? documentOf(after, event.revision) : null
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<RuleDocument>(rulesProjection.collection)

/** The account's rule; another account's is "not found". */
export async function ruleOfAccount(readStore: ReadStore, accountId: string, ruleId: string): Promise<RuleDocument | undefined> {
  const document = await collectionOf(readStore).get(ruleId)
  return document && document.account_id === accountId ? document : undefined
}

export function rulesOfAccount(readStore: ReadStore, accountId: string): Promise<RuleDocument[]> {
  return collectionOf(readStore).find({ account_id: accountId }, { orderBy: 'created_at' })
}

/** Every rule with its state, and the log position the documents reflect at least. */
export async function rulesForEvaluation(readStore: ReadStore): Promise<{ position: number | null; rules: RuleDocument[] } | undefined> {
  const checkpoint = await readStore.loadCheckpoint(rulesProjection.name)
  if (!checkpoint || checkpoint.version !== rulesProjection.version) return undefined
  return { position: checkpoint.position, rules: await collectionOf(readStore).find({}) }
}
