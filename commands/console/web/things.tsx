/** The things list (gateways with their children), creating and pairing things, the MQTT credentials. */
import { useState } from 'preact/hooks'
import { get, post, type MqttCredentials, type Thing, type ThingType } from './api.ts'
import { ago } from './format.ts'
import { CopyButton, ErrorText, Section, useAction, useLoad } from './ui.tsx'

export function useThingTypes() {
  return useLoad(() => get<ThingType[]>('/v1.1/things/types'), [])
}

function ThingRows({ things, all, types, depth }: { things: Thing[]; all: Thing[]; types: Map<string, string>; depth: number }) {
  return (
    <>
      {things.map((thing) => {
        const children = all.filter((t) => t.parent_id === thing.id)
        return (
          <>
            <tr data-thing-id={thing.id}>
              <th scope="row" class={`depth-${Math.min(depth, 3)}`}>
                {depth > 0 ? <span aria-hidden="true">↳ </span> : null}
                <a href={`#/things/${thing.id}`}>{thing.name}</a>
                {depth > 0 ? <span class="visually-hidden"> (child of {all.find((t) => t.id === thing.parent_id)?.name})</span> : null}
              </th>
              <td>{types.get(thing.device_type_id) ?? 'Device'}</td>
              <td>{thing.status}</td>
              <td class="last-online">{ago(thing.last_online)}</td>
            </tr>
            {children.length > 0 ? <ThingRows things={children} all={all} types={types} depth={depth + 1} /> : null}
          </>
        )
      })}
    </>
  )
}

export function MqttCredentialsPanel({ thingId }: { thingId?: string }) {
  const [credentials, setCredentials] = useState<MqttCredentials | null>(null)
  const [busy, error, act] = useAction()
  const port = document.body.dataset.mqttPort || '1883'
  if (!credentials) {
    return (
      <>
        <button type="button" disabled={busy} onClick={() => act(async () => setCredentials(await post<MqttCredentials>('/v1.1/clients')))}>
          Show MQTT credentials
        </button>
        <ErrorText error={error} />
      </>
    )
  }
  const thing = thingId ?? 'THING_ID'
  const line = `mosquitto_pub -h ${location.hostname} -p ${port} -u '${credentials.id}' -P '${credentials.clear_secret}' -i '${thing}' -t 'v1/${credentials.id}/things/${thing}/data/1' -m 'temp,c=21.5'`
  return (
    <div id="mqtt-credentials">
      <dl class="credentials">
        <dt>MQTT username</dt>
        <dd><code id="mqtt-username">{credentials.id}</code> <CopyButton text={credentials.id} label="Copy the MQTT username" /></dd>
        <dt>MQTT password</dt>
        <dd><code id="mqtt-password">{credentials.clear_secret}</code> <CopyButton text={credentials.clear_secret} label="Copy the MQTT password" /></dd>
        <dt>MQTT client id</dt>
        <dd><code>{thing}</code>{thingId ? <CopyButton text={thing} label="Copy the MQTT client id" /> : ' (a thing id of yours)'}</dd>
      </dl>
      <p>Send a reading (channel 1, 21.5 °C) from a shell:</p>
      <pre><code id="mosquitto-line">{line}</code></pre>
      <CopyButton text={line} label="Copy the mosquitto_pub line" />
    </div>
  )
}

export function ThingsPage() {
  const things = useLoad(() => get<Thing[]>('/v1.1/things'), [])
  const types = useThingTypes()
  const typeNames = new Map((types.data ?? []).map((t) => [t.id, t.name]))
  const [name, setName] = useState('')
  const [typeId, setTypeId] = useState('')
  const [parentId, setParentId] = useState('')
  const [hardwareId, setHardwareId] = useState('')
  const [creating, createError, create] = useAction()
  const [pairing, pairError, pair] = useAction()
  const all = things.data ?? []
  const roots = all.filter((t) => !t.parent_id || !all.some((p) => p.id === t.parent_id))

  return (
    <>
      <h1>Things</h1>
      <ErrorText error={things.error} />
      {things.data === undefined ? (
        <p role="status">Loading…</p>
      ) : all.length === 0 ? (
        <p>No things yet: add one below.</p>
      ) : (
        <div class="scroll">
          <table id="things">
            <caption class="visually-hidden">Your things; children are under their gateway</caption>
            <thead>
              <tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Last online</th></tr>
            </thead>
            <tbody>
              <ThingRows things={roots} all={all} types={typeNames} depth={0} />
            </tbody>
          </table>
        </div>
      )}

      <Section title="Add a thing">
        <form
          onSubmit={(event) => {
            event.preventDefault()
            void create(async () => {
              // A thing needs the account's MQTT credentials first (the API text's order); this call is idempotent.
              await post('/v1.1/clients')
              const thing = await post<Thing>('/v1.1/things', { name, ...(typeId ? { device_type_id: typeId } : {}), ...(parentId ? { parent_id: parentId } : {}) })
              setName('')
              location.hash = `#/things/${thing.id}`
            })
          }}
        >
          <label for="thing-name">Name</label>
          <input id="thing-name" type="text" required maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <label for="thing-type">Type</label>
          <select id="thing-type" value={typeId} onChange={(e) => setTypeId(e.currentTarget.value)}>
            <option value="">Generic device</option>
            {(types.data ?? []).map((t) => <option value={t.id}>{t.name}</option>)}
          </select>
          <label for="thing-parent">Under (gateway)</label>
          <select id="thing-parent" value={parentId} onChange={(e) => setParentId(e.currentTarget.value)}>
            <option value="">None</option>
            {all.map((t) => <option value={t.id}>{t.name}</option>)}
          </select>
          <button type="submit" disabled={creating}>Add thing</button>
          <ErrorText error={createError} />
        </form>
      </Section>

      <Section title="Pair a provisioned device">
        <form
          onSubmit={(event) => {
            event.preventDefault()
            void pair(async () => {
              const thing = await post<Thing>('/v1.1/things/pair', { hardware_id: hardwareId })
              location.hash = `#/things/${thing.id}`
            })
          }}
        >
          <label for="hardware-id">Hardware id</label>
          <input id="hardware-id" type="text" required value={hardwareId} onInput={(e) => setHardwareId(e.currentTarget.value)} />
          <button type="submit" disabled={pairing}>Pair</button>
          <ErrorText error={pairError} />
        </form>
      </Section>

      <Section title="MQTT credentials">
        <p>Devices connect with the account's MQTT username and password, and a thing id as the MQTT client id.</p>
        <MqttCredentialsPanel />
      </Section>
    </>
  )
}
