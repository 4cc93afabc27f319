import t from 'tap'
import type { TriggeringReading } from '../../domain/automation/effects.ts'
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import { evaluateConditions, numericRangeOf, triggerHolds, type ComparisonOperator, type Condition, type Trigger } from '../../domain/rule/conditions.ts'
import {
  isUnseenReading,
  keyIsNewer,
  outcomeOfUnseenReading,
  ruleDecider,
  spanChangesNothing,
  spanOf,
  type RuleDefinition,
  type RuleEvent,
  type RuleState,
} from '../../domain/rule/rule.ts'
import { whatIf } from '../../domain/rule/what-if.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-05-01T12:00:00.000Z')
const at = now.toISOString()
const ruleId = '22222222-2222-4222-8222-222222222222'
const sensor = 'thing-sensor'
const other = 'thing-other'

const between15and30: Trigger = {
  thingId: sensor,
  channel: '101',
  unit: 'c',
  geofence: false,
  conditions: [
    { operator: 'gt', value: '15' },
    { operator: 'lt', value: '30' },
  ],
}

const definition: RuleDefinition = {
  title: 'Comfortable',
  enabled: true,
  triggers: [between15and30],
  triggersCondition: 'any',
  cooldownSeconds: null,
  actions: [{ thingId: other, channel: '3', unit: null, value: 1 }],
  notifications: [{ method: 'sms', value: '+10213543213', body: 'Some sms body' }],
  httpPush: [],
}

const created: RuleEvent = { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition, createdAt: '2026-05-01T00:00:00.000Z' } }

let offset = 0
const reading = (value: TriggeringReading['value'], more: Partial<TriggeringReading> = {}): TriggeringReading => ({
  key: `0:${++offset}:0`,
  thingId: sensor,
  channel: '101',
  type: 'temp',
  unit: 'c',
  value,
  at: `2026-05-01T10:00:${String(offset % 60).padStart(2, '0')}.000Z`,
  ...more,
})

const evaluate = (r: TriggeringReading) => ({ type: 'RecordEvaluation', data: { ruleId, reading: r } }) as const
const triggered = (r: TriggeringReading, d: RuleDefinition = definition): RuleEvent => ({
  type: 'RuleTriggered',
  data: {
    ruleId,
    accountId: 'acc-1',
    title: d.title,
    reading: r,
    effects: { actions: d.actions, notifications: d.notifications, httpPush: d.httpPush },
    triggeredAt: at,
  },
})
const rearmed = (r: TriggeringReading): RuleEvent => ({ type: 'RuleRearmed', data: { ruleId, reading: r, rearmedAt: at } })
const spec = given(ruleDecider, now)
/** one condition on its own, as a trigger of it alone */
const conditionHolds = (condition: Condition, value: string | number): boolean => triggerHolds({ ...between15and30, conditions: [condition] }, value)

t.test('conditions', async (t) => {
  t.test('compare numerically when both sides read as numbers', async (t) => {
    t.ok(conditionHolds({ operator: 'gt', value: '15' }, 20))
    t.ok(conditionHolds({ operator: 'gt', value: 15 }, '20'), 'a numeric text reading too')
    t.notOk(conditionHolds({ operator: 'gt', value: '15' }, 9), '9 > 15 is false (not "9" > "15" as text)')
    t.ok(conditionHolds({ operator: 'gte', value: '15' }, 15))
    t.ok(conditionHolds({ operator: 'lte', value: '-2.5' }, -3))
    t.ok(conditionHolds({ operator: 'eq', value: '1.0' }, 1))
    t.ok(conditionHolds({ operator: 'neq', value: 1 }, 2))
  })
  t.test('compare texts only for equality', async (t) => {
    t.ok(conditionHolds({ operator: 'eq', value: 'open' }, 'open'))
    t.notOk(conditionHolds({ operator: 'eq', value: 'open' }, 'closed'))
    t.ok(conditionHolds({ operator: 'neq', value: 'open' }, 'closed'))
    t.notOk(conditionHolds({ operator: 'gt', value: 'a' }, 'b'), 'ordering never holds for text')
    t.notOk(conditionHolds({ operator: 'lt', value: '15' }, 'warm'), 'nor for a number against text')
    t.ok(conditionHolds({ operator: 'eq', value: 'Infinity' }, Infinity), 'a reading that is no finite number compares as text')
    t.notOk(conditionHolds({ operator: 'gt', value: '15' }, Infinity))
    t.ok(triggerHolds({ ...between15and30, conditions: [{ operator: 'gt', value: 15 }, { operator: 'neq', value: 'off' }] }, 20), 'a text condition beside a number one')
  })
  t.test('all conditions of a trigger hold together: gt 15 and lt 30 is "between"', async (t) => {
    const rule = { triggers: [between15and30], triggersCondition: 'any' as const }
    t.equal(evaluateConditions(rule, [false], reading(20)).holds, true)
    t.equal(evaluateConditions(rule, [false], reading(15)).holds, false)
    t.equal(evaluateConditions(rule, [false], reading(30)).holds, false)
  })
  t.test('a reading of another thing, channel or unit concerns no trigger', async (t) => {
    const rule = { triggers: [between15and30], triggersCondition: 'any' as const }
    t.strictSame(evaluateConditions(rule, [true], reading(20, { thingId: other })).concerned, [])
    t.strictSame(evaluateConditions(rule, [true], reading(20, { channel: '102' })).concerned, [])
    t.strictSame(evaluateConditions(rule, [true], reading(20, { unit: 'f' })).concerned, [])
    t.strictSame(evaluateConditions(rule, [false], reading(20, { unit: 'C' })).concerned, [0], 'units compare in any case')
    t.strictSame(evaluateConditions(rule, [false], reading(20, { unit: null })).concerned, [0], 'a reading without unit is compared')
  })
  t.test('a multi-value reading is not compared', async (t) => {
    const rule = { triggers: [between15and30], triggersCondition: 'any' as const }
    const evaluation = evaluateConditions(rule, [true], reading([20, 21, 22]))
    t.strictSame(evaluation.concerned, [])
    t.equal(evaluation.holds, true, 'the trigger keeps what it was')
  })
  t.test('any holds with one trigger, all needs every one', async (t) => {
    const second: Trigger = { ...between15and30, thingId: other }
    t.equal(evaluateConditions({ triggers: [between15and30, second], triggersCondition: 'any' }, [false, false], reading(20)).holds, true)
    t.equal(evaluateConditions({ triggers: [between15and30, second], triggersCondition: 'all' }, [false, false], reading(20)).holds, false)
    t.equal(evaluateConditions({ triggers: [between15and30, second], triggersCondition: 'all' }, [false, true], reading(20)).holds, true)
  })
  t.test('keys compare part by part as numbers', async (t) => {
    t.ok(keyIsNewer('0:10:0', '0:9:3'))
    t.ok(keyIsNewer('0:9:4', '0:9:3'))
    t.notOk(keyIsNewer('0:9:3', '0:9:3'))
    t.notOk(keyIsNewer('0:9:2', '0:10:0'))
    t.ok(keyIsNewer('0:1:0', undefined))
    t.ok(keyIsNewer('15:123456789012:2', '15:123456789011:9'), 'offsets beyond 32 bits')
  })
  t.test('keys of any shape order as the text of their parts says', async (t) => {
    // what keyIsNewer must agree with: parts as numbers, or the text when they are not numbers
    const byParts = (key: string, last: string): boolean => {
      const a = key.split(':').map(Number)
      const b = last.split(':').map(Number)
      if (a.some(Number.isNaN) || b.some(Number.isNaN) || a.length !== b.length) return key > last
      const i = a.findIndex((n, k) => n !== b[k])
      return i >= 0 && a[i]! > b[i]!
    }
    const parts = ['0', '7', '10', '007', '', 'x', ' 3', '1e3', '9007199254740993', '123456789012345']
    const keys = parts.flatMap((p) => [p, `${p}:1`, `1:${p}`, `2:${p}:0`, `2:0:${p}`, `${p}:${p}:${p}`])
    const disagreements = keys.flatMap((key) => keys.filter((last) => keyIsNewer(key, last) !== byParts(key, last)).map((last) => `${key} vs ${last}`))
    t.strictSame(disagreements, [])
  })
})

t.test('a rule that does not exist', async (t) => {
  t.test('is created with the time of the command', async (t) => {
    spec([])
      .when({ type: 'CreateRule', data: { ruleId, accountId: 'acc-1', definition } })
      .then(t, [{ type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition, createdAt: at } }])
  })
  t.test('refuses a rule without triggers', async (t) => {
    spec([])
      .when({ type: 'CreateRule', data: { ruleId, accountId: 'acc-1', definition: { ...definition, triggers: [] } } })
      .thenThrows(t, ValidationError)
  })
  t.test('cannot be updated or deleted', async (t) => {
    spec([]).when({ type: 'UpdateRule', data: { ruleId, accountId: 'acc-1', changes: { title: 'x' } } }).thenThrows(t, NotFoundError)
    spec([]).when({ type: 'DeleteRule', data: { ruleId, accountId: 'acc-1' } }).thenThrows(t, NotFoundError)
  })
  t.test('evaluates nothing', async (t) => {
    spec([]).when(evaluate(reading(20))).thenNothingHappened(t)
  })
})

t.test('an existing rule', async (t) => {
  t.test('creating it again with the same content is a retry; other content is a conflict', async (t) => {
    spec([created]).when({ type: 'CreateRule', data: { ruleId, accountId: 'acc-1', definition } }).thenNothingHappened(t)
    spec([created])
      .when({ type: 'CreateRule', data: { ruleId, accountId: 'acc-1', definition: { ...definition, title: 'Other' } } })
      .thenThrows(t, ConflictError)
  })
  t.test('an update records the whole definition after it', async (t) => {
    spec([created])
      .when({ type: 'UpdateRule', data: { ruleId, accountId: 'acc-1', changes: { title: 'TEST3', cooldownSeconds: 60 } } })
      .then(t, [{ type: 'RuleUpdated', data: { ruleId, definition: { ...definition, title: 'TEST3', cooldownSeconds: 60 }, updatedAt: at } }])
  })
  t.test('an update that changes nothing records nothing', async (t) => {
    spec([created]).when({ type: 'UpdateRule', data: { ruleId, accountId: 'acc-1', changes: { title: 'Comfortable' } } }).thenNothingHappened(t)
  })
  t.test('another account cannot see it', async (t) => {
    spec([created]).when({ type: 'UpdateRule', data: { ruleId, accountId: 'acc-2', changes: { title: 'x' } } }).thenThrows(t, NotFoundError)
    spec([created]).when({ type: 'DeleteRule', data: { ruleId, accountId: 'acc-2' } }).thenThrows(t, NotFoundError)
  })
  t.test('is deleted, once', async (t) => {
    spec([created]).when({ type: 'DeleteRule', data: { ruleId, accountId: 'acc-1' } }).then(t, [{ type: 'RuleDeleted', data: { ruleId, deletedAt: at } }])
    const deleted: RuleEvent = { type: 'RuleDeleted', data: { ruleId, deletedAt: at } }
    spec([created, deleted]).when({ type: 'DeleteRule', data: { ruleId, accountId: 'acc-1' } }).thenThrows(t, NotFoundError)
    spec([created, deleted]).when(evaluate(reading(20))).thenNothingHappened(t)
  })
})

t.test('an armed rule', async (t) => {
  t.test('fires when its condition becomes true, with the reading and a snapshot of its effects', async (t) => {
    const r = reading(20)
    spec([created]).when(evaluate(r)).then(t, [triggered(r)])
  })
  t.test('does nothing while its condition is false', async (t) => {
    spec([created]).when(evaluate(reading(35))).thenNothingHappened(t)
  })
  t.test('ignores readings of other channels and units', async (t) => {
    spec([created]).when(evaluate(reading(20, { channel: '7' }))).thenNothingHappened(t)
    spec([created]).when(evaluate(reading(20, { unit: 'f' }))).thenNothingHappened(t)
  })
  t.test('does not fire when disabled', async (t) => {
    const disabled: RuleEvent = { type: 'RuleUpdated', data: { ruleId, definition: { ...definition, enabled: false }, updatedAt: at } }
    spec([created, disabled]).when(evaluate(reading(20))).thenNothingHappened(t)
  })
})

t.test('a rule that fired', async (t) => {
  const fire = reading(20)
  const history = [created, triggered(fire)]
  t.test('does not fire again while the condition holds', async (t) => {
    spec(history).when(evaluate(reading(25))).thenNothingHappened(t)
  })
  t.test('re-arms when the condition becomes false', async (t) => {
    const r = reading(40)
    spec(history).when(evaluate(r)).then(t, [rearmed(r)])
  })
  t.test('fires again after re-arming', async (t) => {
    const off = reading(40)
    const on = reading(22)
    spec([...history, rearmed(off)]).when(evaluate(on)).then(t, [triggered(on)])
  })
  t.test('ignores a redelivered reading (key not newer than the last it recorded for that thing)', async (t) => {
    spec(history).when(evaluate({ ...reading(40), key: fire.key })).thenNothingHappened(t)
    const off = reading(40)
    spec([...history, rearmed(off)]).when(evaluate({ ...reading(20), key: fire.key })).thenNothingHappened(t)
  })
  t.test('starts afresh (armed) when its triggers change or it is enabled again', async (t) => {
    const above18: RuleDefinition = { ...definition, triggers: [{ ...between15and30, conditions: [{ operator: 'gt', value: 18 }] }] }
    const changed: RuleEvent = { type: 'RuleUpdated', data: { ruleId, definition: above18, updatedAt: at } }
    const r = reading(25)
    spec([...history, changed]).when(evaluate(r)).then(t, [triggered(r, above18)])
    const enabledAgain: RuleEvent[] = [
      { type: 'RuleUpdated', data: { ruleId, definition: { ...definition, enabled: false }, updatedAt: at } },
      { type: 'RuleUpdated', data: { ruleId, definition, updatedAt: at } },
    ]
    const r2 = reading(25)
    spec([...history, ...enabledAgain]).when(evaluate(r2)).then(t, [triggered(r2)])
    const renamed: RuleEvent = { type: 'RuleUpdated', data: { ruleId, definition: { ...definition, title: 'Renamed' }, updatedAt: at } }
    spec([...history, renamed]).when(evaluate(reading(25))).thenNothingHappened(t)
  })
})

t.test('a rule with a cooldown', async (t) => {
  const d: RuleDefinition = { ...definition, cooldownSeconds: 60 }
  const cooling: RuleEvent = { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition: d, createdAt: at } }
  const fire = reading(20, { at: '2026-05-01T10:00:00.000Z' })
  const off = reading(40, { at: '2026-05-01T10:00:10.000Z' })
  const history = [cooling, triggered(fire, d), rearmed(off)]
  t.test('stays armed but does not fire within the cooldown (by reading time)', async (t) => {
    spec(history).when(evaluate(reading(20, { at: '2026-05-01T10:00:59.999Z' }))).thenNothingHappened(t)
  })
  t.test('fires at the first reading after the cooldown that holds', async (t) => {
    const r = reading(20, { at: '2026-05-01T10:01:00.000Z' })
    spec(history).when(evaluate(r)).then(t, [triggered(r, d)])
  })
})

t.test('a rule with several triggers', async (t) => {
  const door: Trigger = { thingId: other, channel: '2', unit: null, geofence: false, conditions: [{ operator: 'eq', value: 1 }] }
  const all: RuleDefinition = { ...definition, triggers: [between15and30, door], triggersCondition: 'all' }
  const createdAll: RuleEvent = { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition: all, createdAt: at } }
  t.test('records a trigger that changes while the combined condition does not', async (t) => {
    const r = reading(20)
    spec([createdAll]).when(evaluate(r)).then(t, [{ type: 'RuleTriggerChanged', data: { ruleId, reading: r, evaluatedAt: at } }])
  })
  t.test('fires with all once the last trigger holds, remembering the first from its event', async (t) => {
    const first = reading(20)
    const second = reading(1, { thingId: other, channel: '2', unit: null })
    spec([createdAll, { type: 'RuleTriggerChanged', data: { ruleId, reading: first, evaluatedAt: at } }])
      .when(evaluate(second))
      .then(t, [triggered(second, all)])
  })
  t.test('with any, a trigger turning false does not re-arm while another still holds', async (t) => {
    const any: RuleDefinition = { ...all, triggersCondition: 'any' }
    const first = reading(20)
    const doorOpen = reading(1, { thingId: other, channel: '2', unit: null })
    const history: RuleEvent[] = [
      { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition: any, createdAt: at } },
      triggered(first, any),
      { type: 'RuleTriggerChanged', data: { ruleId, reading: doorOpen, evaluatedAt: at } },
    ]
    const cold = reading(5)
    spec(history).when(evaluate(cold)).then(t, [{ type: 'RuleTriggerChanged', data: { ruleId, reading: cold, evaluatedAt: at } }])
  })
})

t.test('what-if replays readings through the same decisions', async (t) => {
  const readings = [20, 25, 40, 22, 22, 10, 18].map((v, i) => reading(v, { at: `2026-05-01T11:00:0${i}.000Z` }))
  const result = whatIf({ ruleId, accountId: 'acc-1', definition: { ...definition, enabled: false } }, [...readings, { ...readings[0]!, key: '0:0:0' }])
  t.strictSame(result.fires.map((r) => r.value), [20, 22, 18], 'fires on each edge, as if enabled; the stale key is skipped')
  t.equal(result.evaluated, 8)
})

t.test('what a reading decides is known without deciding it: isUnseenReading and outcomeOfUnseenReading agree with decide', async (t) => {
  const twoThings: RuleDefinition = {
    ...definition,
    triggers: [between15and30, { ...between15and30, thingId: other, unit: 'C', conditions: [{ operator: 'gt', value: '50' }] }],
    triggersCondition: 'all',
    cooldownSeconds: 60,
  }
  let checked = 0
  const seen = new Set<string | null>()
  for (const d of [definition, twoThings, { ...definition, enabled: false }]) {
    let state = ruleDecider.evolve(ruleDecider.initialState, { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition: d, createdAt: at } })
    const series = [10, 20, 25, 40, 20, 'hot', 20, 35, 16].flatMap((value, i) => [
      reading(value, { at: `2026-05-01T10:0${i}:00.000Z` }),
      reading(i % 2 === 0 ? 60 : 10, { thingId: other, unit: 'c', at: `2026-05-01T10:0${i}:30.000Z` }),
    ])
    // a redelivery: readings seen already come again
    for (const r of [...series.slice(0, 6), ...series.slice(3)]) {
      if (state.status !== 'active') throw new Error('the rule is active')
      const events = ruleDecider.decide(evaluate(r), state, now)
      const outcome = isUnseenReading(state, r) ? outcomeOfUnseenReading(state, r) : null
      t.equal(outcome, events.length === 0 ? null : ({ RuleTriggered: 'fires', RuleRearmed: 'rearms', RuleTriggerChanged: 'triggerChanged' } as const)[events[0]!.type as 'RuleTriggered'], `${r.key} ${r.thingId} ${r.value}`)
      state = events.reduce(ruleDecider.evolve, state)
      seen.add(outcome)
      checked++
    }
  }
  t.equal(checked, 3 * 21)
  t.strictSame([...seen].sort(), ['fires', 'rearms', 'triggerChanged', null].sort(), 'every outcome came up')
})

t.test('a span of readings tells at once that a rule ignores them all: spanChangesNothing never says so of readings that decide an event', async (t) => {
  // a small seeded generator: the same cases on every run
  let seed = 12345
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const thresholds = [10, 15, 20, 20, 25, 30]
  const operators: readonly ComparisonOperator[] = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte']
  const conditions = (): Condition[] =>
    Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ operator: pick(operators), value: random() < 0.05 ? 'hot' : String(pick(thresholds)) }))
  const definitionOf = (): RuleDefinition => ({
    ...definition,
    enabled: random() < 0.9,
    cooldownSeconds: random() < 0.2 ? 30 : null,
    triggersCondition: pick(['any', 'all'] as const),
    triggers: [
      { ...between15and30, unit: pick(['c', 'C', null, 'f']), conditions: conditions() },
      ...(random() < 0.15 ? [{ ...between15and30, thingId: other, conditions: conditions() }] : []),
    ],
  })
  const decideAll = (start: RuleState, readings: readonly TriggeringReading[]): { state: RuleState; events: number } => {
    let state = start
    let events = 0
    for (const r of readings) {
      const decided = ruleDecider.decide(evaluate(r), state, now)
      state = decided.reduce(ruleDecider.evolve, state)
      events += decided.length
    }
    return { state, events }
  }
  const values = () => Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(thresholds) + pick([-1, -0.5, 0, 0, 0.5, 1]))
  let cases = 0
  let sureOfNothing = 0
  let nothingHappened = 0
  for (let i = 0; i < 3000; i++) {
    const d = definitionOf()
    let state: RuleState = ruleDecider.evolve(ruleDecider.initialState, { type: 'RuleCreated', data: { ruleId, accountId: 'acc-1', definition: d, createdAt: at } })
    // a past of its own: armed or not, some keys seen
    const unit = pick(['c', 'C', null, 'f'])
    const past = values().map((v) => reading(v, { unit, at: `2026-05-01T10:00:${String(Math.floor(random() * 60)).padStart(2, '0')}.000Z` }))
    state = decideAll(state, past).state
    const batch = values().map((v) => reading(v, { unit }))
    // sometimes a redelivery: the span starts with readings the rule has seen
    const readings = random() < 0.1 ? [...past.slice(-2), ...batch] : random() < 0.05 ? past : batch
    if (state.status !== 'active') throw new Error('the rule is active')
    const span = spanOf(readings)
    if (span === null) throw new Error('numbers of one thing, channel and unit have a span')
    const nothing = spanChangesNothing(state, span)
    const { events } = decideAll(state, readings)
    if (nothing && events > 0) t.fail(`said nothing changes, and ${events} events: ${JSON.stringify({ d: d.triggers, armed: state.armed, values: readings.map((r) => r.value) })}`)
    cases++
    if (events === 0) nothingHappened++
    if (nothing) sureOfNothing++
  }
  t.equal(cases, 3000)
  t.ok(sureOfNothing > nothingHappened * 0.6, `it knows most of the spans that change nothing (${sureOfNothing} of ${nothingHappened})`)
})

t.test('a span is of single finite numbers of one thing, channel and unit, and a range of numeric conditions only', async (t) => {
  t.strictSame(spanOf([reading(20), reading(12.5), reading(31)]), { thingId: sensor, channel: '101', unit: 'c', least: 12.5, greatest: 31, firstKey: `0:${offset - 2}:0`, lastKey: `0:${offset}:0` })
  t.equal(spanOf([]), null)
  t.equal(spanOf([reading(20), reading('hot')]), null, 'a text')
  t.equal(spanOf([reading(20), reading([1, 2, 3])]), null, 'several values')
  t.equal(spanOf([reading(20), reading(Infinity)]), null, 'no finite number')
  t.equal(spanOf([reading(20), reading(21, { unit: 'f' })]), null, 'two units')
  t.equal(spanOf([reading(20), reading(21, { channel: '102' })]), null, 'two channels')
  t.strictSame(numericRangeOf(between15and30), { low: 15, lowIncluded: false, high: 30, highIncluded: false, excluded: [] })
  t.strictSame(
    numericRangeOf({ ...between15and30, conditions: [{ operator: 'gte', value: 15 }, { operator: 'gt', value: '15' }, { operator: 'eq', value: '20' }, { operator: 'neq', value: 21 }] }),
    { low: 20, lowIncluded: true, high: 20, highIncluded: true, excluded: [21] },
  )
  t.equal(numericRangeOf({ ...between15and30, conditions: [{ operator: 'gt', value: 15 }, { operator: 'eq', value: 'open' }] }), null, 'a text condition')
})
