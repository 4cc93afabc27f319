import t from 'tap'
import { startTestServer } from '../helpers/server.ts'
import { thingsWithIds } from '../helpers/rules.ts'

interface Rule {
  id: string
  account_id: string
  title: string
  enabled: boolean
  triggers_condition: string
  cooldown_seconds: number | null
  triggers: { id: string; channel: string; unit: string | null; geofence: boolean; conditions: { value: string | number; operator: string }[] }[]
  actions: { id: string; channel: string; unit: string | null; value: unknown }[]
  notifications: { method: string; value: string; body: string | null }[]
  http_push: { url: string; method: string; payload: unknown; headers: Record<string, string> }[]
  created_at: string
  updated_at: string
}

interface ErrorBody {
  error: string
  message: string
  details: { field: string; problem: string }[]
}

// The API text's examples, as written there (straight quotes, tabs and all).
const createExample = `{
  "enabled": true,
  "account_id": "163200",	
  "title": "My first rule",
  "triggers": [
	{
		"conditions" : [
			{
				"value" : "15",
				"operator" : "gt"
			},
			{
				"value" : "30",
				"operator" : "lt"
			}
		],
		"geofence" : false,
		"channel" : "101",
		"unit" : "c",
		"id" : "23ebc530-52e2-11e7-ab9c-b78f223d8c0b"
	}
  ],
  "actions": [
    {
      "id": "parent_device_id",
      "channel": "some_channel_id",
      "unit": "std",
      "value": 0
    }
  ],
  "notifications": [
    {
      "method": "sms",
      "value": "+10213543213",
	  "body": "Some sms body"
    }
  ],
  "http_push": [
    {
      "url": "string",
      "method": "POST",
      "payload": {},
      "headers": {}
    }
  ]
}`

const updateExample = `{
	    "title":"TEST3",
		"triggers": [
			{
				"conditions" : [
					{
						"value" : "15",
						"operator" : "gt"
					},
					{
						"value" : "30",
						"operator" : "lt"
					}
				],
				"geofence" : false,
				"channel" : "101",
				"unit" : "c",
				"id" : "23ebc530-52e2-11e7-ab9c-b78f223d8c0b"
			}
		]
}`

const exampleThing = '23ebc530-52e2-11e7-ab9c-b78f223d8c0b'
const json = { 'content-type': 'application/json' }

t.test('rules over HTTP', async (t) => {
  const clock = new Date('2026-05-01T08:00:00.000Z')
  const server = await startTestServer(t, { now: () => clock })
  const ops = server.tokenFor('ops', { roles: ['management'] })
  const owner = server.tokenFor('163200')
  const stranger = server.tokenFor('account-stranger')
  await thingsWithIds(server, '163200', [exampleThing, 'parent_device_id'])
  await thingsWithIds(server, 'account-stranger', ['stranger-thing'])

  let ruleId = ''
  await t.test('accepts the API text\'s create example from a management application, as written', async (t) => {
    const res = await server.api<{ id: string }>('POST', '/v1.1/rules', { token: ops, rawBody: createExample, headers: json })
    t.equal(res.status, 200)
    t.strictSame(Object.keys(res.body), ['id'])
    ruleId = res.body.id

    const read = await server.api<Rule>('GET', `/v1.1/rules/${ruleId}?account_id=163200`, { token: ops })
    t.equal(read.status, 200, 'a GET right after the POST sees it')
    const documented = JSON.parse(createExample) as Record<string, unknown>
    t.strictSame(read.body, {
      ...documented,
      id: ruleId,
      triggers_condition: 'any',
      cooldown_seconds: null,
      created_at: clock.toISOString(),
      updated_at: clock.toISOString(),
    }, 'the documented object, plus id, times and the extras')
    const own = await server.api<Rule>('GET', `/v1.1/rules/${ruleId}`, { token: owner })
    t.strictSame(own.body, read.body, 'the account\'s own token sees the same rule')
  })

  await t.test('a normal token: its own account_id in the body is fine, another account\'s is refused (403)', async (t) => {
    const mine = await server.api<{ id: string }>('POST', '/v1.1/rules', { token: owner, rawBody: createExample, headers: json })
    t.equal(mine.status, 200)
    const before = await server.capsicum.eventStore.headPosition()
    const foreign = await server.api<ErrorBody>('POST', '/v1.1/rules', { token: stranger, rawBody: createExample, headers: json })
    t.equal(foreign.status, 403)
    t.equal(foreign.body.error, 'account_forbidden')
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing written')
    t.equal((await server.api<ErrorBody>('DELETE', `/v1.1/rules/${mine.body.id}`, { token: owner })).status, 200)
  })

  await t.test('accepts the API text\'s update example (a partial update)', async (t) => {
    clock.setTime(clock.getTime() + 60_000)
    const res = await server.api('PUT', `/v1.1/rules/${ruleId}`, { token: owner, rawBody: updateExample, headers: json })
    t.equal(res.status, 200)
    t.strictSame(res.body, { success: true })
    const read = await server.api<Rule>('GET', `/v1.1/rules/${ruleId}`, { token: owner })
    t.equal(read.body.title, 'TEST3')
    t.equal(read.body.notifications.length, 1, 'fields the update does not name stay')
    t.equal(read.body.updated_at, clock.toISOString())
    t.not(read.body.updated_at, read.body.created_at)
  })

  await t.test('lists the account\'s rules only', async (t) => {
    const list = await server.api<Rule[]>('GET', '/v1.1/rules', { token: owner })
    t.equal(list.status, 200)
    t.strictSame(list.body.map((r) => r.id), [ruleId])
    const theirs = await server.api<Rule[]>('GET', '/v1.1/rules', { token: stranger })
    t.strictSame(theirs.body, [])
    const viaOps = await server.api<Rule[]>('GET', '/v1.1/rules?account_id=163200', { token: ops })
    t.strictSame(viaOps.body.map((r) => r.id), [ruleId])
  })

  await t.test('another account\'s rule is not found, to read, change, delete or simulate', async (t) => {
    t.equal((await server.api('GET', `/v1.1/rules/${ruleId}`, { token: stranger })).status, 404)
    t.equal((await server.api('PUT', `/v1.1/rules/${ruleId}`, { token: stranger, body: { title: 'Mine now' } })).status, 404)
    t.equal((await server.api('DELETE', `/v1.1/rules/${ruleId}`, { token: stranger })).status, 404)
    const range = { from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' }
    t.equal((await server.api('POST', `/v1.1/rules/${ruleId}/simulate`, { token: stranger, body: range })).status, 404)
    t.equal((await server.api('GET', '/v1.1/rules/not-a-uuid', { token: owner })).status, 404)
    t.equal((await server.api<Rule>('GET', `/v1.1/rules/${ruleId}`, { token: owner })).body.title, 'TEST3', 'unchanged')
  })

  await t.test('takes any number of triggers, actions, notifications and pushes, any operator case, and the extras', async (t) => {
    const res = await server.api<{ id: string }>('POST', '/v1.1/rules', {
      token: owner,
      body: {
        title: 'Many',
        triggers_condition: 'ALL',
        cooldown_seconds: 300,
        triggers: [
          { id: exampleThing, channel: 1, conditions: [{ value: 15, operator: 'GT' }, { value: '30', operator: 'Lte' }] },
          { id: 'parent_device_id', channel: '2', unit: null, conditions: [{ value: 'open', operator: 'eq' }] },
        ],
        actions: [
          { id: 'parent_device_id', channel: '3', value: 1 },
          { id: exampleThing, channel: '4', unit: 'std', value: 'on' },
        ],
        notifications: [
          { method: 'email', value: 'ops@example.com' },
          { method: 'SMS', value: '+10213543213', body: 'Hot' },
        ],
        http_push: [
          { url: 'https://hooks.example.com/a', payload: { hot: true }, headers: { 'X-Key': 'k' } },
          { url: 'https://hooks.example.com/b', method: 'put' },
        ],
      },
    })
    t.equal(res.status, 200)
    const read = await server.api<Rule>('GET', `/v1.1/rules/${res.body.id}`, { token: owner })
    t.match(read.body, {
      enabled: true,
      triggers_condition: 'all',
      cooldown_seconds: 300,
      triggers: [
        { id: exampleThing, channel: '1', unit: null, geofence: false, conditions: [{ value: 15, operator: 'gt' }, { value: '30', operator: 'lte' }] },
        { id: 'parent_device_id', channel: '2', unit: null },
      ],
      actions: [{ id: 'parent_device_id', channel: '3', unit: null, value: 1 }, { value: 'on', unit: 'std' }],
      notifications: [{ method: 'email', value: 'ops@example.com', body: null }, { method: 'sms', body: 'Hot' }],
      http_push: [
        { url: 'https://hooks.example.com/a', method: 'POST', payload: { hot: true }, headers: { 'X-Key': 'k' } },
        { url: 'https://hooks.example.com/b', method: 'PUT', payload: null, headers: {} },
      ],
    })
    t.equal((await server.api('DELETE', `/v1.1/rules/${res.body.id}`, { token: owner })).status, 200)
  })

  await t.test('refuses bad rules with 400 naming the field, and writes nothing', async (t) => {
    const base = JSON.parse(createExample) as Record<string, unknown>
    delete base.account_id
    const trigger = (base.triggers as Record<string, unknown>[])[0]!
    const cases: [string, Record<string, unknown>, string, RegExp?][] = [
      ['a push notification', { notifications: [{ method: 'push', value: 'x' }] }, 'notifications.0.method', /email, sms/],
      ['no trigger', { triggers: [] }, 'triggers'],
      ['no triggers field', { triggers: undefined }, 'triggers'],
      ['no title', { title: undefined }, 'title'],
      ['an unknown operator', { triggers: [{ ...trigger, conditions: [{ value: 1, operator: 'between' }] }] }, 'triggers.0.conditions.0.operator', /eq, neq, gt, gte, lt, lte/],
      ['a trigger without conditions', { triggers: [{ ...trigger, conditions: [] }] }, 'triggers.0.conditions'],
      ['a geofence trigger', { triggers: [{ ...trigger, geofence: true }] }, 'triggers.0.geofence', /not supported/],
      ['a trigger on an unknown thing', { triggers: [{ ...trigger, id: 'no-such-thing' }] }, 'triggers.0.id', /no thing/],
      ['an action on another account\'s thing', { actions: [{ id: 'stranger-thing', channel: '1', value: 1 }] }, 'actions.0.id', /no thing/],
      ['a bad e-mail address', { notifications: [{ method: 'email', value: 'not an address' }] }, 'notifications.0.value'],
      ['a bad phone number', { notifications: [{ method: 'sms', value: 'call me' }] }, 'notifications.0.value'],
      ['a bad push method', { http_push: [{ url: 'https://x.example', method: 'FETCH' }] }, 'http_push.0.method'],
      ['a negative cooldown', { cooldown_seconds: -1 }, 'cooldown_seconds'],
      ['an unknown triggers_condition', { triggers_condition: 'some' }, 'triggers_condition'],
    ]
    const before = await server.capsicum.eventStore.headPosition()
    for (const [what, change, field, problem] of cases) {
      const res = await server.api<ErrorBody>('POST', '/v1.1/rules', { token: owner, body: { ...base, ...change } })
      t.equal(res.status, 400, what)
      t.ok(res.body.details.some((d) => d.field === field), `${what}: names ${field} (${JSON.stringify(res.body.details)})`)
      if (problem) t.match(res.body.message, problem, `${what}: says what is supported`)
    }
    const update = await server.api<ErrorBody>('PUT', `/v1.1/rules/${ruleId}`, { token: owner, body: { notifications: [{ method: 'push', value: 'x' }] } })
    t.equal(update.status, 400)
    t.equal(update.body.details[0]?.field, 'notifications.0.method')
    t.equal(await server.capsicum.eventStore.headPosition(), before, 'nothing written')
  })

  await t.test('simulates a draft over a time range; refuses a range that ends before it starts', async (t) => {
    const trigger = (JSON.parse(createExample) as { triggers: unknown[] }).triggers[0]
    const draft = { triggers: [trigger], from: '2026-01-01T00:00:00Z', to: '2026-12-31T00:00:00Z' }
    const res = await server.api<{ fires: unknown[]; evaluated: number }>('POST', '/v1.1/rules/simulate', { token: owner, body: draft })
    t.equal(res.status, 200)
    t.strictSame(res.body, { fires: [], evaluated: 0 }, 'no readings recorded yet')
    const backwards = await server.api<ErrorBody>('POST', '/v1.1/rules/simulate', { token: owner, body: { ...draft, to: '2025-01-01T00:00:00Z' } })
    t.equal(backwards.status, 400)
    t.equal(backwards.body.details[0]?.field, 'to')
    const unknownThing = await server.api<ErrorBody>('POST', '/v1.1/rules/simulate', {
      token: owner,
      body: { ...draft, triggers: [{ id: 'stranger-thing', channel: '1', conditions: [{ value: 1, operator: 'eq' }] }] },
    })
    t.equal(unknownThing.status, 400)
    t.equal(unknownThing.body.details[0]?.field, 'triggers.0.id')
  })

  await t.test('deletes a rule: then it is gone', async (t) => {
    const res = await server.api('DELETE', `/v1.1/rules/${ruleId}?account_id=163200`, { token: ops })
    t.equal(res.status, 200)
    t.strictSame(res.body, { success: true })
    t.equal((await server.api('GET', `/v1.1/rules/${ruleId}`, { token: owner })).status, 404)
    t.equal((await server.api('DELETE', `/v1.1/rules/${ruleId}`, { token: owner })).status, 404, 'a second delete finds nothing')
    t.equal((await server.api('PUT', `/v1.1/rules/${ruleId}`, { token: owner, body: { title: 'x' } })).status, 404)
  })
})

t.test('the API text\'s example rule fires on readings through the telemetry pipeline, and its what-if agrees', async (t) => {
  const server = await startTestServer(t, { now: () => new Date('2026-06-01T00:00:00.000Z') })
  const owner = server.tokenFor('163200')
  await thingsWithIds(server, '163200', [exampleThing, 'parent_device_id'])
  const body = JSON.parse(createExample) as Record<string, unknown>
  const created = await server.api<{ id: string }>('POST', '/v1.1/rules', { token: owner, body })
  t.equal(created.status, 200)
  const ruleId = created.body.id
  const { capsicum } = server
  await capsicum.ruleEngine!.catchUp()

  // What the MQTT bridge writes for `data/json` publishes: one message per publish.
  const values = [10, 20, 25, 35, 18, 18, 31]
  const start = Date.parse('2026-06-01T10:00:00.000Z')
  const produced = await capsicum.telemetry.produce(
    values.map((value, i) => {
      const receivedAt = new Date(start + i * 60_000).toISOString()
      const readings = [{ channel: '101', type: 'temp', unit: 'c', value }, { channel: '102', type: 'rel_hum', unit: 'p', value: 20 }]
      const message = { kind: 'readings', source: 'mqtt', topic: null, thingId: exampleThing, accountId: '163200', receivedAt, readings }
      return { key: exampleThing, value: JSON.stringify(message), timestamp: Date.parse(receivedAt) }
    }),
  )
  const last = produced.at(-1)!
  const deadline = Date.now() + 20_000
  while (((await capsicum.telemetry.committedOffsets(capsicum.processor!.groupId)).get(last.partition) ?? 0) <= last.offset) {
    if (Date.now() > deadline) throw new Error('the telemetry processor did not get through the readings')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }

  const stream = await capsicum.eventStore.readStream(`rule-${ruleId}`)
  const fires = stream.filter((e) => e.type === 'RuleTriggered').map((e) => e.data as { reading: { value: number; key: string }; effects: unknown })
  t.strictSame(fires.map((f) => f.reading.value), [20, 18], 'fires entering 15 < x < 30, and again after 35 re-armed it; never on channel 102')
  t.match(fires[0]!.effects, {
    actions: [{ thingId: 'parent_device_id', channel: 'some_channel_id', unit: 'std', value: 0 }],
    notifications: [{ method: 'sms', value: '+10213543213', body: 'Some sms body' }],
    httpPush: [{ url: 'string', method: 'POST', payload: {}, headers: {} }],
  })

  const lengths = async () => [(await capsicum.eventStore.readStream(`rule-${ruleId}`)).length, (await capsicum.eventStore.readStream(`telemetry-${exampleThing}`)).length]
  const before = await lengths()
  const simulated = await server.api<{ fires: { value: number; key: string; thing_id: string }[]; evaluated: number }>('POST', `/v1.1/rules/${ruleId}/simulate`, {
    token: owner,
    body: { from: '2026-06-01T00:00:00Z', to: '2026-06-02T00:00:00Z' },
  })
  t.equal(simulated.status, 200)
  t.strictSame(simulated.body.fires.map((f) => [f.value, f.key, f.thing_id]), fires.map((f) => [f.reading.value, f.reading.key, exampleThing]), 'the what-if fires where live evaluation fired')
  t.equal(simulated.body.evaluated, values.length, 'the channel-101 readings')
  t.strictSame(await lengths(), before, 'the what-if wrote nothing (reactors may still be delivering the live fires meanwhile)')
})
