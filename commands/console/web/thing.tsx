/**
 * A thing's page: a live tile per channel, a chart per channel, the command form with
 * each command's state as it changes, rename and deactivate, the MQTT line, and the
 * thing's timeline and the thing as it was at a chosen moment (for auditors).
 */
import { useEffect, useState } from 'preact/hooks'
import { del, get, post, put, type HistoryEntry, type Reading, type Thing, type ThingCommand } from './api.ts'
import { Chart } from './chart.tsx'
import { ago, dateTime, valueText } from './format.ts'
import { followReadings, type LiveState } from './live.ts'
import { MqttCredentialsPanel, useThingTypes } from './things.tsx'
import { ErrorText, Section, useAction, useLoad } from './ui.tsx'

const finalStates = new Set(['acknowledged', 'failed', 'timed_out'])
const stateLabels: Record<ThingCommand['state'], string> = {
  requested: 'Requested',
  delivered: 'Delivered',
  acknowledged: 'Acknowledged',
  failed: 'Failed',
  timed_out: 'Timed out',
}

function Tiles({ readings, live, latestAt }: { readings: Map<string, Reading>; live: LiveState; latestAt: number }) {
  const channels = [...readings.values()].sort((a, b) => Number(a.channel) - Number(b.channel) || a.channel.localeCompare(b.channel))
  return (
    <>
      <p class={`live live-${live}`} role="status" id="live-state">
        {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Connection lost: reconnecting…'}
      </p>
      {channels.length === 0 ? <p>No readings yet. Connect the device and publish one.</p> : null}
      <ul class="tiles" aria-label="Latest value per channel">
        {channels.map((reading) => (
          <li class={`tile${Date.parse(reading.timestamp) >= latestAt ? ' fresh' : ''}`} data-channel={reading.channel} key={reading.channel}>
            <span class="tile-channel">Channel {reading.channel}</span>
            <span class="tile-value" aria-live="polite">
              {valueText(reading.value)}
              {reading.unit ? <span class="tile-unit"> {reading.unit}</span> : null}
            </span>
            <span class="tile-type">{reading.type ?? 'no type'}</span>
            <time class="tile-time" dateTime={reading.timestamp}>{dateTime(reading.timestamp)}</time>
          </li>
        ))}
      </ul>
    </>
  )
}

function Commands({ thingId, channels }: { thingId: string; channels: string[] }) {
  const [channel, setChannel] = useState('')
  const [value, setValue] = useState('')
  const [sending, sendError, send] = useAction()
  const commands = useLoad(() => get<ThingCommand[]>(`/v1.1/things/${thingId}/commands?limit=10`), [thingId])
  const pending = (commands.data ?? []).some((c) => !finalStates.has(c.state))
  useEffect(() => {
    // Follow a command until it is acknowledged, failed or timed out.
    if (!pending) return
    const timer = setInterval(commands.reload, 1000)
    return () => clearInterval(timer)
  }, [pending, commands.reload])

  return (
    <>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault()
          void send(async () => {
            const number = Number(value)
            await post(`/v1.1/things/${thingId}/cmd`, { channel: Number(channel), value: value.trim() !== '' && Number.isFinite(number) ? number : value })
            commands.reload()
          })
        }}
      >
        <div>
          <label for="command-channel">Channel</label>
          <input id="command-channel" type="number" min={0} required list="known-channels" value={channel} onInput={(e) => setChannel(e.currentTarget.value)} />
          <datalist id="known-channels">{channels.map((c) => <option value={c} />)}</datalist>
        </div>
        <div>
          <label for="command-value">Value</label>
          <input id="command-value" type="text" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={sending}>Send command</button>
      </form>
      <ErrorText error={sendError ?? commands.error} />
      {(commands.data ?? []).length > 0 ? (
        <div class="scroll">
          <table id="commands">
            <caption class="visually-hidden">Commands sent, newest first</caption>
            <thead><tr><th scope="col">Sent</th><th scope="col">Channel</th><th scope="col">Value</th><th scope="col">State</th></tr></thead>
            <tbody>
              {commands.data!.map((c) => (
                <tr data-command-id={c.id}>
                  <td>{dateTime(c.requested_at)}</td>
                  <td>{c.channel}</td>
                  <td>{String(c.value)}</td>
                  <td class={`state state-${c.state}`}>{stateLabels[c.state]}{c.reason ? `: ${c.reason}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  )
}

function Timeline({ thingId }: { thingId: string }) {
  const history = useLoad(() => get<{ events: HistoryEntry[]; next_cursor: string | null }>(`/v1.1/things/${thingId}/history?limit=200`), [thingId])
  const [asOf, setAsOf] = useState('')
  const [then, setThen] = useState<Thing | null>(null)
  const [looking, lookError, look] = useAction()
  return (
    <>
      <ErrorText error={history.error} />
      <button type="button" onClick={history.reload}>Refresh timeline</button>
      <ol class="timeline" id="timeline">
        {(history.data?.events ?? []).map((entry) => (
          <li>
            <time dateTime={entry.time}>{dateTime(entry.time)}</time> <strong>{entry.type}</strong> <span class="muted">by {entry.actor.type} {entry.actor.id}</span>
          </li>
        ))}
      </ol>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault()
          void look(async () => setThen(await get<Thing>(`/v1.1/things/${thingId}?as_of=${encodeURIComponent(new Date(asOf).toISOString())}`)))
        }}
      >
        <div>
          <label for="as-of">The thing as it was at</label>
          <input id="as-of" type="datetime-local" step={1} required value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={looking}>Show it then</button>
      </form>
      <ErrorText error={lookError} />
      {then ? (
        <dl class="as-of" id="as-of-result">
          <dt>Name</dt><dd>{then.name}</dd>
          <dt>Status</dt><dd>{then.status}</dd>
          <dt>Parent</dt><dd>{then.parent_id ?? 'none'}</dd>
          <dt>Hardware id</dt><dd>{then.hardware_id ?? 'none'}</dd>
        </dl>
      ) : null}
    </>
  )
}

export function ThingPage({ thingId }: { thingId: string }) {
  const thing = useLoad(() => get<Thing>(`/v1.1/things/${thingId}`), [thingId])
  const types = useThingTypes()
  const [readings, setReadings] = useState(new Map<string, Reading>())
  const [latest, setLatest] = useState<Reading | undefined>(undefined)
  const [live, setLive] = useState<LiveState>('connecting')
  const [openedAt] = useState(Date.now())
  const [newName, setNewName] = useState<string | null>(null)
  const [renaming, renameError, rename] = useAction()
  const [removing, removeError, remove] = useAction()

  useEffect(() => {
    let current = true
    // The latest per channel; a live reading newer than the answer wins.
    const loadLatest = (): void => {
      get<Reading[]>(`/v1.1/things/${thingId}/data`).then((list) => {
        if (!current) return
        setReadings((old) => {
          const merged = new Map(old)
          for (const reading of list) {
            const known = merged.get(reading.channel)
            if (!known || Date.parse(known.timestamp) < Date.parse(reading.timestamp)) merged.set(reading.channel, reading)
          }
          return merged
        })
      }, () => {})
    }
    loadLatest()
    const stop = followReadings(
      thingId,
      (reading) => {
        setReadings((old) => new Map(old).set(reading.channel, reading))
        setLatest(reading)
      },
      setLive,
      loadLatest,
    )
    return () => {
      current = false
      stop()
    }
  }, [thingId])

  if (thing.error) return <ErrorText error={thing.error} />
  if (!thing.data) return <p role="status">Loading…</p>
  const t = thing.data
  const typeName = (types.data ?? []).find((type) => type.id === t.device_type_id)?.name ?? 'Device'
  const channels = [...readings.keys()].sort((a, b) => Number(a) - Number(b))
  return (
    <>
      <p><a href="#/things">← Things</a></p>
      <h1>{t.name}</h1>
      <p class="muted">
        {typeName} · {t.status} · last online <span id="last-online">{ago(Math.max(t.last_online, latest ? Date.parse(latest.timestamp) : 0))}</span> · id <code>{t.id}</code>
      </p>
      {t.children && t.children.length > 0 ? (
        <p>Children: {t.children.map((c, i) => <>{i > 0 ? ', ' : ''}<a href={`#/things/${c.id}`}>{c.name}</a></>)}</p>
      ) : null}

      <Section title="Live values" id="tiles-section">
        <Tiles readings={readings} live={live} latestAt={openedAt} />
      </Section>

      <Section title="Charts">
        {channels.length === 0 ? <p>Charts appear with the first reading.</p> : null}
        <div class="charts">
          {channels.map((channel) => (
            <Chart thingId={thingId} channel={channel} title={`Channel ${channel}${readings.get(channel)?.unit ? ` (${readings.get(channel)!.unit})` : ''}`} latest={latest} key={channel} />
          ))}
        </div>
      </Section>

      <Section title="Send a command">
        <Commands thingId={thingId} channels={channels} />
      </Section>

      <Section title="Connect the device">
        <MqttCredentialsPanel thingId={thingId} />
      </Section>

      <Section title="Settings">
        <form
          class="inline"
          onSubmit={(event) => {
            event.preventDefault()
            void rename(async () => {
              await put(`/v1.1/things/${thingId}`, { name: newName ?? t.name })
              thing.reload()
            })
          }}
        >
          <div>
            <label for="rename">Name</label>
            <input id="rename" type="text" required maxLength={255} value={newName ?? t.name} onInput={(e) => setNewName(e.currentTarget.value)} />
          </div>
          <button type="submit" disabled={renaming}>Rename</button>
        </form>
        <ErrorText error={renameError} />
        <button
          type="button"
          class="danger"
          disabled={removing}
          onClick={() => {
            if (!confirm(`Deactivate ${t.name}? Its history stays.`)) return
            void remove(async () => {
              await del(`/v1.1/things/${thingId}`)
              location.hash = '#/things'
            })
          }}
        >
          Deactivate
        </button>
        <ErrorText error={removeError} />
      </Section>

      <Section title="History">
        <Timeline thingId={thingId} />
      </Section>
    </>
  )
}
