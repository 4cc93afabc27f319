/**
 * The whole loop over MQTT: a reading one device publishes makes a rule fire, the rule's
 * action becomes a command, and another device receives it on its cmd topic and answers.
 */
import t from 'tap'
import { connectDevice, deviceAccount, waitUntil } from '../helpers/mqtt.ts'
import { startTestServer } from '../helpers/server.ts'

t.test('a rule fired by one device commands another', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 2 })
  const [sensor, actuator] = account.thingIds as [string, string]

  const created = await server.api<{ id: string }>('POST', '/v1.1/rules', {
    token: account.token,
    body: {
      title: 'Too hot: open the vent',
      triggers: [{ id: sensor, channel: '1', conditions: [{ operator: 'gt', value: '30' }] }],
      actions: [{ id: actuator, channel: '3', value: 1 }],
    },
  })
  t.equal(created.status, 200, created.text)
  await server.capsicum.ruleEngine!.catchUp()

  const vent = await connectDevice(t, server.capsicum.mqttUrl!, account.device(1))
  t.strictSame(await vent.subscribe(account.topic(1, 'cmd/+')), [0], 'the actuator listens for commands')
  const thermometer = await connectDevice(t, server.capsicum.mqttUrl!, { ...account.device(0), protocolVersion: 3 })

  await thermometer.publish(account.topic(0, 'data/1'), 'temp,c=25.0', { qos: 1 })
  await thermometer.publish(account.topic(0, 'data/1'), 'temp,c=35.5', { qos: 1 })
  const command = await vent.nextMessage((m) => m.topic === account.topic(1, 'cmd/3'), 'the vent command')
  const [seq, value] = command.text.split(',')
  t.equal(value, '1', 'the action value arrives as seq,value')
  t.notOk(vent.messages.some((m) => m.topic !== account.topic(1, 'cmd/3')), 'nothing else reached the actuator')

  await vent.publish(account.topic(1, 'response'), `ok,${seq}`, { qos: 1 })
  const acknowledged = await waitUntil(async () => {
    const res = await server.api<{ seq: number; channel: number; state: string }[]>('GET', `/v1.1/things/${actuator}/commands`, { token: account.token })
    return res.body.find((c) => String(c.seq) === seq && c.state === 'acknowledged')
  }, 'the command to be acknowledged')
  t.equal(acknowledged.channel, 3)

  const fires = (await server.capsicum.eventStore.readStream(`rule-${created.body.id}`)).filter((e) => e.type === 'RuleTriggered')
  t.equal(fires.length, 1, 'the reading below the threshold did not fire; the one above fired once')
})
