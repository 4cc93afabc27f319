/**
 * Carries out deliveries: records a delivery once (its id comes from the cause), and
 * makes an attempt when one is due, recording what came back. Used by the delivery
 * reactors (the first attempt) and the retry scheduler (the later ones); attempts on
 * one delivery never overlap in this process, and the attempt number appended with the
 * stream's revision keeps two processes from recording the same attempt twice.
 */
import { performance } from 'node:perf_hooks'
import { foldRecorded } from '../../domain/fold-events.ts'
import { requestCommandOnce } from '../../domain/delivery/command-once.ts'
import {
  deliveryDecider,
  deliveryStreamName,
  isDue,
  type AttemptResult,
  type ExistingDelivery,
  type RequestDelivery,
} from '../../domain/delivery/delivery.ts'
import { CapsicumError, ConcurrencyError } from '../../domain/errors.ts'
import { thingStreamName } from '../../domain/thing/thing.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand, type CommandContext } from '../../commands/handle-command.ts'
import type { HttpPusher, SmsSender } from '../../domain/ports/delivery-ports.ts'
import type { Mailer } from '../../domain/ports/mailer.ts'
import { emailOf, smsOf } from './notification-text.ts'
import type { Logger } from '../../domain/ports/logger.ts'
import type { Instruments } from '../../domain/ports/instruments.ts'

export interface DeliveryWorkerDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly logger: Logger
  readonly mailer: Mailer
  /** false when no SMTP server is configured (SMTP_URL): e-mails are undeliverable */
  readonly mailConfigured: boolean
  /** undefined when no SMS provider is configured: SMS are undeliverable */
  readonly sms: SmsSender | undefined
  readonly httpPush: HttpPusher
  readonly instruments?: Instruments
}

type Undeliverable = { readonly undeliverable: string }

const actor = { type: 'system', id: 'delivery' } as const

export class DeliveryWorker {
  private readonly inFlight = new Map<string, Promise<void>>()

  constructor(private readonly deps: DeliveryWorkerDeps) {}

  /** Records the delivery; nothing when it is already recorded (a redelivered cause). */
  async request(data: RequestDelivery['data'], metadata: Omit<EventMetadata, 'time' | 'actor'>): Promise<void> {
    await handleCommand(deliveryDecider, deliveryStreamName(data.deliveryId), { type: 'RequestDelivery', data }, this.contextOf({ ...metadata, actor }))
  }

  /** Makes the delivery's next attempt if one is due now; waits for one already under way instead. */
  attempt(deliveryId: string): Promise<void> {
    const running = this.inFlight.get(deliveryId)
    if (running) return running
    const run = this.run(deliveryId).finally(() => this.inFlight.delete(deliveryId))
    this.inFlight.set(deliveryId, run)
    return run
  }

  private contextOf(metadata: Omit<EventMetadata, 'time'>): CommandContext {
    return { eventStore: this.deps.eventStore, now: this.deps.now, newId: this.deps.newId, metadata }
  }

  private async run(deliveryId: string): Promise<void> {
    const { eventStore, logger } = this.deps
    const stream = deliveryStreamName(deliveryId)
    const history = await eventStore.readStream(stream)
    const state = foldRecorded(deliveryDecider, history)
    if (!isDue(state, this.deps.now())) return
    const context = this.contextOf({
      actor,
      account_id: state.accountId,
      client_id: null,
      correlation_id: history[0]!.metadata.correlation_id,
      causation_id: history[history.length - 1]!.id,
    })
    const log = { delivery: deliveryId, channel: state.channel, target: state.target, cause: state.cause }
    const started = performance.now()
    const result = await this.send(state, context)
    if ('undeliverable' in result) {
      logger.warn({ ...log, reason: result.undeliverable }, 'delivery is undeliverable')
      await handleCommand(deliveryDecider, stream, { type: 'RecordUndeliverable', data: { deliveryId, reason: result.undeliverable } }, context)
      this.deps.instruments?.deliveryAttempted(state.channel, 'undeliverable', false)
      return
    }
    const attempt = state.attempts + 1
    const durationMs = Math.round(performance.now() - started)
    const recorded = await handleCommand(deliveryDecider, stream, { type: 'RecordAttempt', data: { deliveryId, attempt, durationMs, ...result } }, context)
    this.deps.instruments?.deliveryAttempted(state.channel, result.outcome, recorded.state.exists && recorded.state.status === 'dead')
    if (result.outcome === 'succeeded') logger.info({ ...log, attempt }, 'delivered')
    else logger.warn({ ...log, attempt, outcome: result.outcome, statusCode: result.statusCode, error: result.error }, 'delivery attempt failed')
  }

  private async send(delivery: ExistingDelivery, context: CommandContext): Promise<AttemptResult | Undeliverable> {
    switch (delivery.channel) {
      case 'command':
        return this.requestCommand(delivery, delivery.request, context)
      case 'email': {
        if (!this.deps.mailConfigured) return { undeliverable: 'no SMTP server is configured (SMTP_URL)' }
        try {
          await this.deps.mailer.send({ to: delivery.request.to, ...emailOf(delivery.request), idempotencyKey: delivery.deliveryId })
          return { outcome: 'succeeded', statusCode: null, error: null }
        } catch (error) {
          // SMTP: 5xx is a permanent refusal (no such mailbox), anything else may pass later.
          const code = (error as { responseCode?: unknown }).responseCode
          const statusCode = typeof code === 'number' ? code : null
          const message = error instanceof Error ? error.message : String(error)
          return { outcome: statusCode !== null && statusCode >= 500 ? 'rejected' : 'failed', statusCode, error: message }
        }
      }
      case 'sms':
        if (!this.deps.sms) return { undeliverable: 'no SMS provider is configured (SMS_ACCOUNT_SID)' }
        return this.deps.sms.send({ to: delivery.request.to, body: smsOf(delivery.request), idempotencyKey: delivery.deliveryId })
      case 'http_push':
        return this.deps.httpPush.push(delivery.request, delivery.deliveryId)
      default: {
        const unknown: never = delivery
        throw new Error(`no channel for ${JSON.stringify(unknown)}`)
      }
    }
  }

  /** A CommandRequested on the thing, under the delivery's id as command id: requested once at most. */
  private async requestCommand(
    delivery: ExistingDelivery,
    action: { readonly thingId: string; readonly channel: string; readonly value: string | number | boolean },
    context: CommandContext,
  ): Promise<AttemptResult | Undeliverable> {
    const channel = action.channel.trim()
    if (!/^\d{1,7}$/.test(channel)) return { undeliverable: `channel ${JSON.stringify(action.channel)} is not a device channel (a non-negative integer)` }
    const commandId = delivery.deliveryId
    try {
      await handleCommand(
        requestCommandOnce(commandId),
        thingStreamName(action.thingId),
        { type: 'RequestCommand', data: { thingId: action.thingId, accountId: delivery.accountId, commandId, channel: Number(channel), value: action.value } },
        context,
      )
      return { outcome: 'succeeded', statusCode: null, error: null }
    } catch (error) {
      // The thing said no (not found in the account, not active): asking again would not help.
      if (error instanceof CapsicumError && !(error instanceof ConcurrencyError)) return { outcome: 'rejected', statusCode: null, error: error.message }
      throw error
    }
  }
}
