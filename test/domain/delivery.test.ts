import t from 'tap'
import { requestCommandOnce } from '../../domain/delivery/command-once.ts'
import {
  deliveryDecider,
  isDue,
  retryDelayMs,
  type DeliveryCommand,
  type DeliveryEvent,
  type RequestDelivery,
} from '../../domain/delivery/delivery.ts'
import { fold } from '../../domain/decider.ts'
import { ConflictError, NotFoundError } from '../../domain/errors.ts'
import type { RequestCommand, ThingEvent } from '../../domain/thing/thing.ts'
import { given } from '../helpers/decider-spec.ts'

const now = new Date('2026-03-01T10:00:00.000Z')
const at = now.toISOString()
const later = (ms: number): string => new Date(now.getTime() + ms).toISOString()
const spec = given(deliveryDecider, now)
const deliveryId = '11111111-1111-4111-8111-111111111111'
const cause = { type: 'rule', id: 'rule-1', eventId: 'event-1', title: 'Too hot', effect: { kind: 'http_push', index: 0 } } as const
const push = { method: 'POST', url: 'https://hooks.example.com/x', headers: { 'X-Key': 'k' }, payload: { hot: true } }

const request: RequestDelivery = {
  type: 'RequestDelivery',
  data: { deliveryId, accountId: 'acc-1', channel: 'http_push', request: push, cause, maxAttempts: 3 },
}
const requested: DeliveryEvent = {
  type: 'DeliveryRequested',
  data: { ...request.data, target: push.url, requestedAt: '2026-03-01T09:59:00.000Z' },
}
const attempt = (n: number, outcome: 'succeeded' | 'failed' | 'rejected', statusCode: number | null = null, error: string | null = null): DeliveryCommand => ({
  type: 'RecordAttempt',
  data: { deliveryId, attempt: n, outcome, statusCode, error, durationMs: 12 },
})
const attempted = (n: number, outcome: 'succeeded' | 'failed' | 'rejected', statusCode: number | null = null, error: string | null = null, when = at): DeliveryEvent => ({
  type: 'DeliveryAttempted',
  data: { deliveryId, attempt: n, outcome, statusCode, error, durationMs: 12, at: when },
})
const failed = (n: number, retryAt: string, when = at): DeliveryEvent => ({ type: 'DeliveryFailed', data: { deliveryId, attempt: n, retryAt, at: when } })
const dead = (n: number, reason: string): DeliveryEvent => ({ type: 'DeliveryDeadLettered', data: { deliveryId, attempt: n, reason, at } })
const retry = (accountId = 'acc-1'): DeliveryCommand => ({ type: 'RetryDelivery', data: { deliveryId, accountId } })
const retryRequested: DeliveryEvent = { type: 'DeliveryRetryRequested', data: { deliveryId, at } }
const threeFailures = [requested, attempted(1, 'failed', 500), failed(1, at), attempted(2, 'failed', 500), failed(2, at), attempted(3, 'failed', 500), dead(3, 'x')]

t.test('the backoff grows fourfold from 10 s and stops at an hour', async (t) => {
  t.strictSame([1, 2, 3, 4, 5, 6, 7].map(retryDelayMs), [10_000, 40_000, 160_000, 640_000, 2_560_000, 3_600_000, 3_600_000])
})

t.test('a delivery that was not requested', async (t) => {
  t.test('is requested, with its target and the time', async (t) => {
    spec([]).when(request).then(t, [requested].map((e) => ({ ...e, data: { ...e.data, requestedAt: at } }) as DeliveryEvent))
  })
  t.test('has no attempt to record', async (t) => {
    spec([]).when(attempt(1, 'succeeded')).thenThrows(t, NotFoundError)
  })
  t.test('cannot be retried', async (t) => {
    spec([]).when(retry()).thenThrows(t, NotFoundError)
  })
})

t.test('a requested delivery', async (t) => {
  t.test('asked for again (a redelivered cause) records nothing', async (t) => {
    spec([requested]).when(request).thenNothingHappened(t)
  })
  t.test('is due from the moment it was requested', async (t) => {
    const state = fold(deliveryDecider, [requested])
    t.ok(isDue(state, now))
    t.notOk(isDue(state, new Date('2026-03-01T09:58:00.000Z')))
  })
  t.test('succeeds on its first attempt', async (t) => {
    spec([requested]).when(attempt(1, 'succeeded', 200)).then(t, [attempted(1, 'succeeded', 200), { type: 'DeliverySucceeded', data: { deliveryId, attempt: 1, at } }])
  })
  t.test('fails and is retried after the first backoff step', async (t) => {
    spec([requested]).when(attempt(1, 'failed', 500, 'HTTP 500')).then(t, [attempted(1, 'failed', 500, 'HTTP 500'), failed(1, later(10_000))])
  })
  t.test('rejected (refused for good) is dead-lettered at once', async (t) => {
    spec([requested]).when(attempt(1, 'rejected', null, 'refused: loopback')).then(t, [
      attempted(1, 'rejected', null, 'refused: loopback'),
      dead(1, 'refused: loopback'),
    ])
  })
  t.test('is undeliverable without a way to send it', async (t) => {
    spec([requested]).when({ type: 'RecordUndeliverable', data: { deliveryId, reason: 'no SMS provider' } }).then(t, [
      { type: 'DeliveryUndeliverable', data: { deliveryId, reason: 'no SMS provider', at } },
    ])
  })
  t.test('recording the same attempt twice records it once', async (t) => {
    spec([requested, attempted(1, 'succeeded', 200)]).when(attempt(1, 'succeeded', 200)).thenNothingHappened(t)
  })
  t.test('refuses an attempt out of order', async (t) => {
    spec([requested]).when(attempt(3, 'succeeded')).thenThrows(t, ConflictError)
  })
  t.test('a manual retry of a pending delivery changes nothing', async (t) => {
    spec([requested]).when(retry()).thenNothingHappened(t)
  })
})

t.test('a failed delivery', async (t) => {
  const once = [requested, attempted(1, 'failed', 500), failed(1, later(10_000))]
  t.test('is due only when its retry time comes', async (t) => {
    const state = fold(deliveryDecider, once)
    t.notOk(isDue(state, now))
    t.ok(isDue(state, new Date(later(10_000))))
  })
  t.test('waits longer after each failure', async (t) => {
    spec(once).when(attempt(2, 'failed', 503)).then(t, [attempted(2, 'failed', 503), failed(2, later(40_000))])
  })
  t.test('is dead-lettered when the last attempt fails', async (t) => {
    const twice = [...once, attempted(2, 'failed', 500), failed(2, at)]
    spec(twice).when(attempt(3, 'failed', 500, 'HTTP 500')).then(t, [attempted(3, 'failed', 500, 'HTTP 500'), dead(3, '3 attempts failed; the last: HTTP 500')])
  })
  t.test('succeeds on a later attempt', async (t) => {
    spec(once).when(attempt(2, 'succeeded', 204)).then(t, [attempted(2, 'succeeded', 204), { type: 'DeliverySucceeded', data: { deliveryId, attempt: 2, at } }])
  })
  t.test('retried by hand is due now, and keeps its round', async (t) => {
    spec(once).when(retry()).then(t, [retryRequested])
    const retried = [...once, retryRequested]
    t.ok(isDue(fold(deliveryDecider, retried), now))
    spec([...retried, attempted(2, 'failed', 500), failed(2, at)]).when(attempt(3, 'failed', 500)).then(t, [
      attempted(3, 'failed', 500),
      dead(3, '3 attempts failed; the last: status 500'),
    ])
  })
  t.test('cannot be retried by another account', async (t) => {
    spec(once).when(retry('acc-2')).thenThrows(t, NotFoundError)
  })
})

t.test('a dead letter', async (t) => {
  t.test('takes no more attempts', async (t) => {
    spec(threeFailures).when(attempt(4, 'succeeded')).thenThrows(t, ConflictError)
  })
  t.test('retried by hand is due now, with a new round of attempts', async (t) => {
    spec(threeFailures).when(retry()).then(t, [retryRequested])
    const retried = [...threeFailures, retryRequested]
    t.ok(isDue(fold(deliveryDecider, retried), now))
    spec(retried).when(attempt(4, 'failed', 500)).then(t, [attempted(4, 'failed', 500), failed(4, later(10_000))])
    spec(retried).when(attempt(4, 'succeeded', 200)).then(t, [attempted(4, 'succeeded', 200), { type: 'DeliverySucceeded', data: { deliveryId, attempt: 4, at } }])
  })
})

t.test('a succeeded delivery', async (t) => {
  const done: DeliveryEvent[] = [requested, attempted(1, 'succeeded', 200), { type: 'DeliverySucceeded', data: { deliveryId, attempt: 1, at } }]
  t.test('refuses a manual retry', async (t) => {
    spec(done).when(retry()).thenThrows(t, ConflictError)
  })
  t.test('is not due', async (t) => {
    t.notOk(isDue(fold(deliveryDecider, done), new Date('2030-01-01T00:00:00.000Z')))
  })
})

t.test('an undeliverable delivery', async (t) => {
  const undeliverable: DeliveryEvent[] = [requested, { type: 'DeliveryUndeliverable', data: { deliveryId, reason: 'no SMS provider', at } }]
  t.test('is recorded once', async (t) => {
    spec(undeliverable).when({ type: 'RecordUndeliverable', data: { deliveryId, reason: 'no SMS provider' } }).thenNothingHappened(t)
  })
  t.test('can be retried by hand (a provider may be configured since)', async (t) => {
    spec(undeliverable).when(retry()).then(t, [retryRequested])
  })
})

t.test('a device command asked for by a rule is requested once', async (t) => {
  const thingId = '22222222-2222-4222-8222-222222222222'
  const created: ThingEvent = {
    type: 'ThingCreated',
    data: { thingId, accountId: 'acc-1', name: 'Fan', deviceTypeId: 't', parentId: null, properties: {}, active: 1, status: 'ACTIVE', createdAt: at },
  }
  const command: RequestCommand = { type: 'RequestCommand', data: { thingId, accountId: 'acc-1', commandId: deliveryId, channel: 3, value: 1 } }
  const once = given(requestCommandOnce(deliveryId), now)
  t.test('the first time, with the thing\'s next seq', async (t) => {
    once([created]).when(command).then(t, [{ type: 'CommandRequested', data: { thingId, commandId: deliveryId, channel: 3, value: 1, seq: 1, requestedAt: at } }])
  })
  t.test('not again when a command with its id is in the stream', async (t) => {
    const sent: ThingEvent = { type: 'CommandRequested', data: { thingId, commandId: deliveryId, channel: 3, value: 1, seq: 1, requestedAt: at } }
    once([created, sent]).when(command).thenNothingHappened(t)
  })
  t.test('while other commands do not count', async (t) => {
    const other: ThingEvent = { type: 'CommandRequested', data: { thingId, commandId: 'another', channel: 3, value: 1, seq: 1, requestedAt: at } }
    once([created, other]).when(command).then(t, [{ type: 'CommandRequested', data: { thingId, commandId: deliveryId, channel: 3, value: 1, seq: 2, requestedAt: at } }])
  })
  t.test('and the thing\'s rules still hold (not found elsewhere)', async (t) => {
    once([created]).when({ ...command, data: { ...command.data, accountId: 'acc-2' } }).thenThrows(t, NotFoundError)
  })
})
