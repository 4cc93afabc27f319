/**
 * RuleTriggered / JobFired → what the rule or job asked for: device commands, e-mails,
 * SMS and HTTP pushes, one reactor each (a slow mail server holds up no device). Each
 * effect becomes a delivery whose id is derived from the event id and the effect's place,
 * so a redelivered event finds its deliveries already recorded and sends nothing twice;
 * the first attempt is made here, later ones by the retry scheduler.
 */
import type { RecordedEvent } from '../../domain/ports/event-store.ts'
import { deterministicId } from '../../commands/ids.ts'
import type { JobFired, RuleTriggered } from '../../domain/automation/effects.ts'
import type { DeliveryCause, DeliveryOrder, EffectKind, NotificationFacts } from '../../domain/delivery/delivery.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingOfAccount } from '../../projections/things.ts'
import type { DeliveryWorker } from './delivery-worker.ts'
import { reactor, type Reactor } from './reactor-runner.ts'

type Fired = RuleTriggered | JobFired
type FiredEvent = RecordedEvent<Fired>

export interface DeliveryReactorDeps {
  readonly deliveries: DeliveryWorker
  readonly readStore: ReadStore
  readonly httpPushMaxAttempts: number
}

/** E-mail and SMS: a few attempts over some minutes (the backoff of domain/delivery). */
const notificationMaxAttempts = 5

/** The delivery of the `index`-th effect of `kind` asked for by event `eventId`. */
export function deliveryIdOf(eventId: string, kind: EffectKind, index: number): string {
  return deterministicId('delivery', eventId, kind, String(index))
}

interface Wanted {
  readonly kind: EffectKind
  readonly index: number
  readonly order: DeliveryOrder
  readonly maxAttempts: number
}

function causeOf(event: FiredEvent, kind: EffectKind, index: number): DeliveryCause {
  const effect = { kind, index }
  return event.type === 'RuleTriggered'
    ? { type: 'rule', id: event.data.ruleId, eventId: event.id, title: event.data.title, effect }
    : { type: 'job', id: event.data.jobId, eventId: event.id, title: event.data.title, effect }
}

const displayValue = (value: number | readonly number[] | string | boolean): string =>
  Array.isArray(value) ? value.join(', ') : String(value)

/** What a notification reports, with the things' names as they are now. */
async function factsOf(readStore: ReadStore, event: FiredEvent): Promise<NotificationFacts> {
  const { accountId } = event.data
  const nameOf = async (thingId: string): Promise<string> => (await thingOfAccount(readStore, accountId, thingId))?.name ?? thingId
  if (event.type === 'RuleTriggered') {
    const r = event.data.reading
    return {
      source: 'rule',
      title: event.data.title,
      time: event.data.triggeredAt,
      items: [{ thingId: r.thingId, thingName: await nameOf(r.thingId), channel: r.channel, value: displayValue(r.value), unit: r.unit }],
    }
  }
  const items = []
  for (const a of event.data.effects.actions) {
    items.push({ thingId: a.thingId, thingName: await nameOf(a.thingId), channel: a.channel, value: displayValue(a.value), unit: a.unit })
  }
  return { source: 'job', title: event.data.title, time: event.data.occurrence, items }
}

function deliveryReactor(name: string, deps: DeliveryReactorDeps, wanted: (event: FiredEvent) => Promise<readonly Wanted[]>): Reactor {
  return reactor<Fired>({
    name,
    canHandle: ['RuleTriggered', 'JobFired'],
    async handle(event) {
      const metadata = {
        account_id: event.data.accountId,
        client_id: null,
        correlation_id: event.metadata.correlation_id,
        causation_id: event.id,
      }
      for (const { kind, index, order, maxAttempts } of await wanted(event)) {
        const deliveryId = deliveryIdOf(event.id, kind, index)
        await deps.deliveries.request({ ...order, deliveryId, accountId: event.data.accountId, cause: causeOf(event, kind, index), maxAttempts }, metadata)
        await deps.deliveries.attempt(deliveryId)
      }
    },
  })
}

function notifications(deps: DeliveryReactorDeps, method: 'email' | 'sms') {
  return async (event: FiredEvent): Promise<Wanted[]> => {
    const specs = event.data.effects.notifications.map((spec, index) => ({ spec, index })).filter(({ spec }) => spec.method === method)
    if (specs.length === 0) return []
    const facts = await factsOf(deps.readStore, event)
    return specs.map(({ spec, index }) => ({
      kind: 'notification',
      index,
      order: { channel: method, request: { to: spec.value, body: spec.body, facts } },
      maxAttempts: notificationMaxAttempts,
    }))
  }
}

export function deliveryReactors(deps: DeliveryReactorDeps): Reactor[] {
  return [
    deliveryReactor('deviceActions', deps, async (event) =>
      event.data.effects.actions.map((request, index) => ({ kind: 'action', index, order: { channel: 'command', request }, maxAttempts: 1 })),
    ),
    deliveryReactor('emailNotifications', deps, notifications(deps, 'email')),
    deliveryReactor('smsNotifications', deps, notifications(deps, 'sms')),
    deliveryReactor('httpPushes', deps, async (event) =>
      event.data.effects.httpPush.map((request, index) => ({
        kind: 'http_push',
        index,
        order: { channel: 'http_push', request },
        maxAttempts: deps.httpPushMaxAttempts,
      })),
    ),
  ]
}
