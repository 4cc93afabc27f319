/**
 * Rules: the list, enable/disable, delete; a form for the common case (when channel N of
 * a thing is above or below a value: send an e-mail, an SMS, an HTTP push or a command);
 * and a rule's what-if over the last day or week, drawn on the channel's chart.
 */
import { useState } from 'preact/hooks'
import { del, get, post, put, type Rule, type Simulation, type Thing } from './api.ts'
import { Chart, type Mark, type RangeName } from './chart.tsx'
import { ErrorText, Section, useAction, useLoad } from './ui.tsx'

type EffectKind = 'command' | 'email' | 'sms' | 'http'
const operatorWords: Record<string, string> = { gt: 'above', gte: 'at least', lt: 'below', lte: 'at most', eq: 'equal to', neq: 'not equal to' }

function ruleSummary(rule: Rule, names: Map<string, string>): string {
  const when = rule.triggers
    .map((t) => `${names.get(t.id) ?? t.id} channel ${t.channel} is ${t.conditions.map((c) => `${operatorWords[c.operator] ?? c.operator} ${c.value}`).join(' and ')}`)
    .join(' or ')
  const effects = [
    ...rule.actions.map((a) => `command ${String(a.value)} to ${names.get(a.id) ?? a.id} channel ${a.channel}`),
    ...rule.notifications.map((n) => `${n.method === 'sms' ? 'SMS' : 'e-mail'} to ${n.value}`),
    ...rule.http_push.map((h) => `${h.method} ${h.url}`),
  ]
  return `When ${when}: ${effects.join(', ') || 'nothing'}`
}

function WhatIf({ rule }: { rule: Rule }) {
  const [result, setResult] = useState<{ range: RangeName; marks: Mark[]; evaluated: number } | null>(null)
  const [busy, error, act] = useAction()
  const trigger = rule.triggers[0]
  const simulate = (range: 'day' | 'week') =>
    act(async () => {
      const to = new Date()
      const from = new Date(to.getTime() - (range === 'day' ? 1 : 7) * 24 * 3600_000)
      const simulation = await post<Simulation>(`/v1.1/rules/${rule.id}/simulate`, { from: from.toISOString(), to: to.toISOString() })
      const marks = simulation.fires.filter((f) => f.thing_id === trigger?.id && f.channel === trigger.channel).map((f) => ({ at: f.at, value: f.value }))
      setResult({ range, marks, evaluated: simulation.evaluated })
    })
  return (
    <div class="what-if">
      <button type="button" disabled={busy} onClick={() => void simulate('day')}>What if: last day</button>{' '}
      <button type="button" disabled={busy} onClick={() => void simulate('week')}>What if: last week</button>
      <ErrorText error={error} />
      {result && trigger ? (
        <>
          <p class="what-if-result" role="status">
            Over the last {result.range}, it would have fired {result.marks.length} {result.marks.length === 1 ? 'time' : 'times'} ({result.evaluated} readings checked).
          </p>
          <Chart thingId={trigger.id} channel={trigger.channel} title={`Channel ${trigger.channel}`} initialRange={result.range} marks={result.marks} key={`${result.range}-${result.marks.length}`} />
        </>
      ) : null}
    </div>
  )
}

function NewRule({ things, created }: { things: Thing[]; created: () => void }) {
  const [title, setTitle] = useState('')
  const [thingId, setThingId] = useState('')
  const [channel, setChannel] = useState('1')
  const [operator, setOperator] = useState('gt')
  const [value, setValue] = useState('')
  const [effect, setEffect] = useState<EffectKind>('command')
  const [target, setTarget] = useState('')
  const [targetThing, setTargetThing] = useState('')
  const [targetChannel, setTargetChannel] = useState('1')
  const [commandValue, setCommandValue] = useState('1')
  const [busy, error, act] = useAction()
  const chosenThing = thingId || things[0]?.id || ''
  const chosenTarget = targetThing || chosenThing

  const submit = () =>
    act(async () => {
      const number = Number(commandValue)
      await post('/v1.1/rules', {
        title,
        triggers: [{ id: chosenThing, channel, conditions: [{ operator, value: Number(value) }] }],
        actions: effect === 'command' ? [{ id: chosenTarget, channel: targetChannel, value: Number.isFinite(number) && commandValue.trim() !== '' ? number : commandValue }] : [],
        notifications: effect === 'email' || effect === 'sms' ? [{ method: effect, value: target }] : [],
        http_push: effect === 'http' ? [{ url: target, method: 'POST' }] : [],
      })
      setTitle('')
      created()
    })

  return (
    <form
      onSubmit={(event) => {
        event.preventDefault()
        void submit()
      }}
    >
      <label for="rule-title">Name</label>
      <input id="rule-title" type="text" required maxLength={255} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      <fieldset>
        <legend>When</legend>
        <label for="rule-thing">Thing</label>
        <select id="rule-thing" required value={chosenThing} onChange={(e) => setThingId(e.currentTarget.value)}>
          {things.map((t) => <option value={t.id}>{t.name}</option>)}
        </select>
        <label for="rule-channel">Channel</label>
        <input id="rule-channel" type="number" min={0} required value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
        <label for="rule-operator">Is</label>
        <select id="rule-operator" value={operator} onChange={(e) => setOperator(e.currentTarget.value)}>
          <option value="gt">above</option>
          <option value="lt">below</option>
        </select>
        <label for="rule-value">Value</label>
        <input id="rule-value" type="number" step="any" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      </fieldset>
      <fieldset>
        <legend>Then</legend>
        <label for="rule-effect">Do</label>
        <select id="rule-effect" value={effect} onChange={(e) => setEffect(e.currentTarget.value as EffectKind)}>
          <option value="command">Send a command</option>
          <option value="email">Send an e-mail</option>
          <option value="sms">Send an SMS</option>
          <option value="http">Send an HTTP push</option>
        </select>
        {effect === 'command' ? (
          <>
            <label for="rule-target-thing">To thing</label>
            <select id="rule-target-thing" value={chosenTarget} onChange={(e) => setTargetThing(e.currentTarget.value)}>
              {things.map((t) => <option value={t.id}>{t.name}</option>)}
            </select>
            <label for="rule-target-channel">Command channel</label>
            <input id="rule-target-channel" type="number" min={0} required value={targetChannel} onInput={(e) => setTargetChannel(e.currentTarget.value)} />
            <label for="rule-command-value">Command value</label>
            <input id="rule-command-value" type="text" required value={commandValue} onInput={(e) => setCommandValue(e.currentTarget.value)} />
          </>
        ) : (
          <>
            <label for="rule-target">{effect === 'email' ? 'E-mail address' : effect === 'sms' ? 'Phone number' : 'URL'}</label>
            <input
              id="rule-target"
              // preact types each input type apart; the three are all text fields
              type={(effect === 'email' ? 'email' : effect === 'sms' ? 'tel' : 'url') as 'text'}
              required
              value={target}
              onInput={(e) => setTarget(e.currentTarget.value)}
            />
          </>
        )}
      </fieldset>
      <button type="submit" disabled={busy || things.length === 0}>Create rule</button>
      {things.length === 0 ? <p class="muted">Add a thing first.</p> : null}
      <ErrorText error={error} />
    </form>
  )
}

export function RulesPage() {
  const rules = useLoad(() => get<Rule[]>('/v1.1/rules'), [])
  const things = useLoad(() => get<Thing[]>('/v1.1/things'), [])
  const names = new Map((things.data ?? []).map((t) => [t.id, t.name]))
  const [busy, error, act] = useAction()
  return (
    <>
      <h1>Rules</h1>
      <ErrorText error={rules.error ?? error} />
      {rules.data?.length === 0 ? <p>No rules yet.</p> : null}
      <ul class="cards" id="rules">
        {(rules.data ?? []).map((rule) => (
          <li class="card" data-rule-id={rule.id} key={rule.id}>
            <h3>{rule.title} <span class={rule.enabled ? 'badge on' : 'badge off'}>{rule.enabled ? 'enabled' : 'disabled'}</span></h3>
            <p>{ruleSummary(rule, names)}</p>
            <button type="button" disabled={busy} onClick={() => void act(async () => { await put(`/v1.1/rules/${rule.id}`, { enabled: !rule.enabled }); rules.reload() })}>
              {rule.enabled ? 'Disable' : 'Enable'}
            </button>{' '}
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => {
                if (confirm(`Delete the rule ${rule.title}?`)) void act(async () => { await del(`/v1.1/rules/${rule.id}`); rules.reload() })
              }}
            >
              Delete
            </button>
            <WhatIf rule={rule} />
          </li>
        ))}
      </ul>
      <Section title="New rule">
        <NewRule things={things.data ?? []} created={rules.reload} />
      </Section>
    </>
  )
}
