/**
 * What rules and jobs ask for, carried out against real servers: e-mail to an SMTP
 * server, SMS to a Twilio-like HTTP API, HTTP pushes (retries with backoff on an injected
 * clock, a dead letter, a manual retry, the SSRF guard), device commands. Each cause is
 * appended straight to `rule-<id>` / `job-<id>`, as the rules processor and scheduler do.
 */
import t from 'tap'
import { deliveryIdOf } from '../../streams/reactors/deliveries.ts'
import type { DeliveryView } from '../../projections/deliveries.ts'
import { deliveryAfterAttempts, deliveryIn, fireJob, fireRule, readableMail, startReceiver, startSmtp, thingOf } from '../helpers/deliveries.ts'
import { startTestServer } from '../helpers/server.ts'

const start = new Date('2026-03-01T10:00:00.000Z')
const reading = (thingId: string) => ({ thingId, channel: '2', type: 'temp', unit: 'c', value: 31.5, at: start.toISOString() })

t.test('an e-mail notification reaches the SMTP server with the rule, the thing and the reading', async (t) => {
  const smtp = await startSmtp(t)
  const server = await startTestServer(t, { env: { SMTP_URL: smtp.url, MAIL_FROM: 'Capsicum <alerts@capsicum.test>' }, now: () => start })
  const token = server.tokenFor('acc-mail')
  const thingId = await thingOf(server, token, 'Greenhouse sensor')

  const eventId = await fireRule(server, {
    accountId: 'acc-mail',
    title: 'Too hot',
    reading: reading(thingId),
    effects: { notifications: [{ method: 'email', value: 'ops@example.com', body: 'Open the <b>vents</b> & check the fan' }] },
    at: start.toISOString(),
  })
  const mail = readableMail((await smtp.next()).raw)
  const deliveryId = deliveryIdOf(eventId, 'notification', 0)
  t.match(mail.headers, 'Subject: Rule "Too hot": Greenhouse sensor channel 2 = 31.5 c at 2026-03-01 10:00:00 UTC')
  t.match(mail.headers, 'To: ops@example.com')
  t.match(mail.headers, `Message-ID: <${deliveryId}@capsicum>`, 'the delivery id is the Message-ID: a retry carries the same one')
  t.match(mail.text, 'Open the <b>vents</b> & check the fan', "the rule's body, as text")
  t.match(mail.text, `- Greenhouse sensor (${thingId}), channel 2: 31.5 c`)
  t.match(mail.html, 'Open the &lt;b&gt;vents&lt;/b&gt; &amp; check the fan', 'and escaped in the HTML')
  t.notMatch(mail.html, '<b>vents</b>')
  t.match(mail.html, '<td>Greenhouse sensor</td><td>2</td><td>31.5 c</td>')

  const delivery = await deliveryIn(server, 'acc-mail', eventId, 'notification', 0, ['succeeded'])
  const res = await server.api<DeliveryView>('GET', `/v1.1/deliveries/${delivery.id}`, { token })
  t.equal(res.status, 200)
  t.match(res.body, {
    id: deliveryId,
    status: 'succeeded',
    channel: 'email',
    target: 'ops@example.com',
    request: { to: 'ops@example.com', body: 'Open the <b>vents</b> & check the fan' },
    cause: { type: 'rule', event_id: eventId, title: 'Too hot', effect: 'notifications[0]' },
    attempts: [{ attempt: 1, outcome: 'succeeded', status_code: null, error: null, at: start.toISOString() }],
    next_attempt_at: null,
  })

  await t.test("a job's e-mail shows the job and its actions' things", async (t) => {
    const jobEvent = await fireJob(server, {
      accountId: 'acc-mail',
      title: 'Morning watering',
      effects: {
        actions: [{ thingId, channel: '5', value: 1, unit: 'd' }],
        notifications: [{ method: 'email', value: 'gardener@example.com', body: null }],
      },
      at: '2026-03-01T06:00:00.000Z',
    })
    const jobMail = readableMail((await smtp.next()).raw)
    t.match(jobMail.headers, 'Subject: Job "Morning watering": Greenhouse sensor channel 5 = 1 d at 2026-03-01 06:00:00 UTC')
    t.match(jobMail.text, 'Job "Morning watering" ran at 2026-03-01 06:00:00 UTC.')
    await deliveryIn(server, 'acc-mail', jobEvent, 'notification', 0, ['succeeded'])
    const run = await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?status=succeeded', { token })
    t.ok(run.body.some((d) => d.cause.event_id === jobEvent && d.channel === 'email'), 'listed among the succeeded')
  })
})

t.test('an HTTP push fails twice, then succeeds on the third attempt of the backoff schedule', async (t) => {
  let clock = start
  const receiver = await startReceiver(t, (_req, n) => ({ status: n <= 2 ? 500 : 200 }))
  const server = await startTestServer(t, { env: { HTTP_PUSH_ALLOW_PRIVATE: 'true', HTTP_PUSH_MAX_ATTEMPTS: '3' }, now: () => clock })
  const token = server.tokenFor('acc-push')
  const eventId = await fireRule(server, {
    accountId: 'acc-push',
    title: 'Door opened',
    reading: { ...reading('thing-x'), value: 1, unit: null },
    effects: { httpPush: [{ method: 'POST', url: `${receiver.url}/hooks/door`, headers: { 'X-Token': 'abc' }, payload: { door: 'open' } }] },
    at: start.toISOString(),
  })
  const first = await deliveryIn(server, 'acc-push', eventId, 'http_push', 0, ['failed'])
  t.equal(receiver.received.length, 1)
  t.match(receiver.received[0], { method: 'POST', url: '/hooks/door', headers: { 'x-token': 'abc', 'idempotency-key': first.id }, body: '{"door":"open"}' })
  t.equal(first.next_attempt_at, '2026-03-01T10:00:10.000Z', 'the first retry 10 s later')

  clock = new Date('2026-03-01T10:00:10.000Z')
  const second = await deliveryAfterAttempts(server, 'acc-push', eventId, 'http_push', 0, 2)
  t.equal(second.attempts.length, 2)
  t.equal(second.next_attempt_at, '2026-03-01T10:00:50.000Z', 'the second retry 40 s after that')
  t.equal(receiver.received.length, 2)

  clock = new Date('2026-03-01T10:00:50.000Z')
  await deliveryIn(server, 'acc-push', eventId, 'http_push', 0, ['succeeded'])
  const res = await server.api<DeliveryView>('GET', `/v1.1/deliveries/${first.id}`, { token })
  t.match(res.body, {
    status: 'succeeded',
    channel: 'http_push',
    target: `${receiver.url}/hooks/door`,
    max_attempts: 3,
    attempts: [
      { attempt: 1, outcome: 'failed', status_code: 500, error: 'HTTP 500', at: '2026-03-01T10:00:00.000Z' },
      { attempt: 2, outcome: 'failed', status_code: 500, at: '2026-03-01T10:00:10.000Z' },
      { attempt: 3, outcome: 'succeeded', status_code: 200, error: null, at: '2026-03-01T10:00:50.000Z' },
    ],
  })
  t.equal(receiver.received.length, 3, 'three requests, no more')
  const events = await server.capsicum.eventStore.readStream(`delivery-${first.id}`)
  t.strictSame(
    events.map((e) => e.type),
    ['DeliveryRequested', 'DeliveryAttempted', 'DeliveryFailed', 'DeliveryAttempted', 'DeliveryFailed', 'DeliveryAttempted', 'DeliverySucceeded'],
    'every attempt is an event',
  )
})

t.test('a push that keeps failing is dead-lettered after the last attempt; a manual retry sends it again', async (t) => {
  let clock = start
  let status = 500
  const receiver = await startReceiver(t, () => ({ status }))
  const server = await startTestServer(t, { env: { HTTP_PUSH_ALLOW_PRIVATE: 'true', HTTP_PUSH_MAX_ATTEMPTS: '3' }, now: () => clock })
  const token = server.tokenFor('acc-dead')
  const eventId = await fireRule(server, {
    accountId: 'acc-dead',
    title: 'Leak',
    reading: reading('thing-y'),
    effects: { httpPush: [{ method: 'POST', url: `${receiver.url}/leak`, headers: {}, payload: null }] },
    at: start.toISOString(),
  })
  const id = deliveryIdOf(eventId, 'http_push', 0)
  const attemptsMade = (n: number) => deliveryAfterAttempts(server, 'acc-dead', eventId, 'http_push', 0, n)
  await attemptsMade(1)
  clock = new Date('2026-03-01T10:00:10.000Z')
  await attemptsMade(2)
  clock = new Date('2026-03-01T10:00:50.000Z')
  const dead = await deliveryIn(server, 'acc-dead', eventId, 'http_push', 0, ['dead'])
  t.equal(dead.reason, '3 attempts failed; the last: HTTP 500')
  t.equal(receiver.received.length, 3)

  const deadList = await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?status=dead', { token })
  t.strictSame(deadList.body.map((d) => d.id), [id], 'GET /v1.1/deliveries?status=dead lists the dead letter')
  t.strictSame((await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?status=failed', { token })).body, [], 'no longer among the failed')
  t.strictSame((await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?status=dead', { token: server.tokenFor('acc-other') })).body, [], "another account's list does not show it")
  t.equal((await server.api('GET', `/v1.1/deliveries/${id}`, { token: server.tokenFor('acc-other') })).status, 404)
  t.equal((await server.api('POST', `/v1.1/deliveries/${id}/retry`, { token: server.tokenFor('acc-other') })).status, 404, 'nor retry it')

  status = 200
  clock = new Date('2026-03-01T11:00:00.000Z')
  const retried = await server.api<DeliveryView>('POST', `/v1.1/deliveries/${id}/retry`, { token })
  t.equal(retried.status, 202)
  t.match(retried.body, { id, status: 'pending', next_attempt_at: '2026-03-01T11:00:00.000Z' })
  const done = await deliveryIn(server, 'acc-dead', eventId, 'http_push', 0, ['succeeded'])
  t.match(done.attempts[3], { attempt: 4, outcome: 'succeeded', status_code: 200, at: '2026-03-01T11:00:00.000Z' })
  t.equal(receiver.received.length, 4)
  t.equal(receiver.received[3]!.body, '', 'a null payload sends no body')

  const again = await server.api<{ error: string }>('POST', `/v1.1/deliveries/${id}/retry`, { token })
  t.equal(again.status, 409, 'a delivery that succeeded is not sent again')
  t.equal(again.body.error, 'delivery_succeeded')

  await t.test('bad input', async (t) => {
    const bad = await server.api<{ details: { field: string }[] }>('GET', '/v1.1/deliveries?status=lost', { token })
    t.equal(bad.status, 400)
    t.match(bad.body.details, [{ field: 'status' }])
    t.equal((await server.api('GET', '/v1.1/deliveries/not-a-uuid', { token })).status, 404)
    t.equal((await server.api('POST', '/v1.1/deliveries/11111111-1111-4111-8111-111111111111/retry', { token })).status, 404)
    t.equal((await server.api('GET', '/v1.1/deliveries')).status, 401)
    const page = await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?limit=1&offset=1', { token })
    t.strictSame(page.body, [], 'paginated: one delivery, the second page is empty')
  })
})

t.test('with the default configuration', async (t) => {
  const receiver = await startReceiver(t, () => ({ status: 200 }))
  const server = await startTestServer(t, { now: () => start })
  const token = server.tokenFor('acc-default')
  const eventId = await fireRule(server, {
    accountId: 'acc-default',
    title: 'Smoke',
    reading: reading('thing-z'),
    effects: {
      httpPush: [
        { method: 'POST', url: `${receiver.url}/internal`, headers: {}, payload: { a: 1 } },
        { method: 'POST', url: receiver.url.replace('127.0.0.1', 'localhost'), headers: {}, payload: null },
      ],
      notifications: [
        { method: 'sms', value: '+15551234567', body: null },
        { method: 'email', value: 'ops@example.com', body: null },
      ],
    },
    at: start.toISOString(),
  })

  await t.test('a push to a loopback address is refused: dead-lettered at once, never sent', async (t) => {
    const refused = await deliveryIn(server, 'acc-default', eventId, 'http_push', 0, ['dead'])
    t.match(refused.reason, /refused: 127\.0\.0\.1 is a loopback address/)
    t.match(refused.attempts, [{ attempt: 1, outcome: 'rejected', status_code: null }])
    const named = await deliveryIn(server, 'acc-default', eventId, 'http_push', 1, ['dead'])
    t.match(named.reason, /refused: localhost resolves to/)
    t.equal(receiver.received.length, 0, 'the receiver heard nothing')
  })

  await t.test('without an SMS provider or an SMTP server, notifications are undeliverable', async (t) => {
    const sms = await deliveryIn(server, 'acc-default', eventId, 'notification', 0, ['undeliverable'])
    t.equal(sms.reason, 'no SMS provider is configured (SMS_ACCOUNT_SID)')
    t.strictSame(sms.attempts, [], 'no attempt was made')
    const mail = await deliveryIn(server, 'acc-default', eventId, 'notification', 1, ['undeliverable'])
    t.equal(mail.reason, 'no SMTP server is configured (SMTP_URL)')
    const list = await server.api<DeliveryView[]>('GET', '/v1.1/deliveries?status=undeliverable', { token })
    t.equal(list.body.length, 2)
  })
})

t.test('an SMS goes to the Twilio-compatible API: form fields, Basic auth', async (t) => {
  const twilio = await startReceiver(t, (req) => {
    const to = new URLSearchParams(req.body).get('To')
    return to === '+15550000000'
      ? { status: 400, body: JSON.stringify({ code: 21211, message: "The 'To' number +15550000000 is not a valid phone number.", status: 400 }) }
      : { status: 201, body: JSON.stringify({ sid: 'SM0123', status: 'queued' }) }
  })
  const server = await startTestServer(t, {
    env: { SMS_API_URL: twilio.url, SMS_ACCOUNT_SID: 'AC0123456789', SMS_AUTH_TOKEN: 'token-secret', SMS_FROM: '+15005550006' },
    now: () => start,
  })
  const token = server.tokenFor('acc-sms')
  const thingId = await thingOf(server, token, 'Freezer')
  const eventId = await fireRule(server, {
    accountId: 'acc-sms',
    title: 'Freezer warm',
    reading: { ...reading(thingId), value: -2, unit: 'c' },
    effects: {
      notifications: [
        { method: 'sms', value: '+15551234567', body: null },
        { method: 'sms', value: '+15550000000', body: 'Check the freezer' },
      ],
    },
    at: start.toISOString(),
  })
  const sent = await deliveryIn(server, 'acc-sms', eventId, 'notification', 0, ['succeeded'])
  t.match(sent.attempts, [{ outcome: 'succeeded', status_code: 201 }])
  const request = twilio.received[0]!
  t.equal(request.method, 'POST')
  t.equal(request.url, '/2010-04-01/Accounts/AC0123456789/Messages.json')
  t.equal(request.headers.authorization, `Basic ${Buffer.from('AC0123456789:token-secret').toString('base64')}`)
  t.equal(request.headers['content-type'], 'application/x-www-form-urlencoded')
  const form = new URLSearchParams(request.body)
  t.equal(form.get('To'), '+15551234567')
  t.equal(form.get('From'), '+15005550006')
  t.equal(form.get('Body'), 'Rule "Freezer warm": Freezer channel 2 = -2 c at 2026-03-01 10:00:00 UTC')

  const refused = await deliveryIn(server, 'acc-sms', eventId, 'notification', 1, ['dead'])
  t.match(refused.attempts, [{ outcome: 'rejected', status_code: 400 }])
  t.equal(refused.reason, "HTTP 400: The 'To' number +15550000000 is not a valid phone number. (code 21211)", "the provider's reason")
  t.match(new URLSearchParams(twilio.received[1]!.body).get('Body'), /^Check the freezer\nRule "Freezer warm"/, "the rule's body first")
})

t.test('an action becomes a command to the thing, sent once', async (t) => {
  const server = await startTestServer(t, { now: () => start })
  const token = server.tokenFor('acc-act')
  const thingId = await thingOf(server, token, 'Fan')
  const missing = '99999999-9999-4999-8999-999999999999'
  const eventId = await fireJob(server, {
    accountId: 'acc-act',
    title: 'Fan on at ten',
    effects: {
      actions: [
        { thingId, channel: '3', value: 1, unit: null },
        { thingId: missing, channel: '1', value: 0, unit: null },
        { thingId, channel: 'relay', value: 0, unit: null },
      ],
    },
    at: start.toISOString(),
  })
  const sent = await deliveryIn(server, 'acc-act', eventId, 'action', 0, ['succeeded'])
  const commands = await server.api<{ id: string; channel: number; value: unknown; state: string }[]>('GET', `/v1.1/things/${thingId}/commands`, { token })
  t.match(commands.body, [{ id: sent.id, channel: 3, value: 1 }], "the thing's command carries the delivery id")
  t.equal(commands.body.length, 1)
  const stream = await server.capsicum.eventStore.readStream(`thing-${thingId}`)
  const requested = stream.filter((e) => e.type === 'CommandRequested')
  t.equal(requested.length, 1)
  const [deliveryRequested] = await server.capsicum.eventStore.readStream(`delivery-${sent.id}`)
  t.equal(deliveryRequested!.metadata.causation_id, eventId, 'the delivery is caused by the JobFired event')
  t.equal(requested[0]!.metadata.causation_id, deliveryRequested!.id, 'the command by the delivery')
  t.equal(requested[0]!.metadata.correlation_id, deliveryRequested!.metadata.correlation_id, 'all in the run\'s correlation')

  const notFound = await deliveryIn(server, 'acc-act', eventId, 'action', 1, ['dead'])
  t.match(notFound.reason, /not found/)
  const badChannel = await deliveryIn(server, 'acc-act', eventId, 'action', 2, ['undeliverable'])
  t.match(badChannel.reason, /channel "relay" is not a device channel/)
})
