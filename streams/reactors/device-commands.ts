/**
 * Commands out. `CommandRequested` → `seq,value` on `v1/{username}/things/{thingId}/cmd/{channel}`
 * at QoS 1, not retained, so a device with a persistent session gets it when it is back.
 * Each copy carries the command's deadline: the broker drops a queued copy once it has
 * passed (the command has timed out meanwhile). The sweeper times out commands nobody
 * answered; it reads the `thingCommands` read model, so it survives restarts.
 *
 * Delivery (PUBACK) is recorded by the broker (streams/aedes-bridge.ts); answers on
 * `response` by the telemetry processor.
 */
import type { EventStore } from '../../domain/ports/event-store.ts'
import { recordCommandOutcome } from '../../commands/thing/record-command-outcome.ts'
import type { CommandRequested } from '../../domain/thing/thing.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { thingCommandsProjection, type ThingCommandDocument } from '../../projections/thing-commands.ts'
import { thingsProjection, type ThingDocument } from '../../projections/things.ts'
import { formatCommandPayload } from '../../domain/cayenne/interpret.ts'
import type { Logger } from '../../domain/ports/logger.ts'
import { reactor } from './reactor-runner.ts'

/** The DevicePublisher port, with the deadline past which a queued copy must not be delivered. */
export interface CommandPublisher {
  publish(topic: string, payload: string, options: { readonly qos: 1; readonly retain: false; readonly expiresAt: number }): Promise<void>
}

export interface DeviceCommandsDeps {
  readonly publisher: CommandPublisher
  /** the usernames to publish under: the one the thing last connected with, else every one of its account */
  readonly usernamesFor: (thingId: string) => Promise<readonly string[]>
  readonly timeoutMs: number
  readonly now: () => Date
}

export const commandTopic = (username: string, thingId: string, channel: number | string): string =>
  `v1/${username}/things/${thingId}/cmd/${channel}`

export function deviceCommands(deps: DeviceCommandsDeps) {
  return reactor<CommandRequested>({
    name: 'deviceCommands',
    canHandle: ['CommandRequested'],
    async handle(event) {
      const { thingId, seq, channel, value, requestedAt } = event.data
      const expiresAt = Date.parse(requestedAt) + deps.timeoutMs
      // Late (a backlog after a restart): the sweeper times it out; the device never sees it.
      if (expiresAt <= deps.now().getTime()) return
      const payload = formatCommandPayload(seq, value)
      for (const username of await deps.usernamesFor(thingId)) {
        await deps.publisher.publish(commandTopic(username, thingId, channel), payload, { qos: 1, retain: false, expiresAt })
      }
    },
  })
}

export interface CommandTimeoutSweeperOptions {
  readonly readStore: ReadStore
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly timeoutMs: number
  readonly logger: Logger
  /** how often to look; a quarter of the timeout, at most 5 s, by default */
  readonly intervalMs?: number
}

const open: ThingCommandDocument['state'][] = ['requested', 'delivered']

/** Times out the commands that have had no answer for `timeoutMs`: at start, then on an interval. */
export class CommandTimeoutSweeper {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<number> | undefined

  constructor(private readonly options: CommandTimeoutSweeperOptions) {}

  start(): void {
    const interval = this.options.intervalMs ?? Math.min(Math.floor(this.options.timeoutMs / 4), 5000)
    void this.sweepLogged()
    this.timer = setInterval(() => void this.sweepLogged(), interval)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running?.catch(() => undefined)
  }

  /** One pass; resolves with how many commands it timed out. */
  sweep(): Promise<number> {
    this.running ??= this.sweepOnce().finally(() => (this.running = undefined))
    return this.running
  }

  private async sweepLogged(): Promise<void> {
    try {
      await this.sweep()
    } catch (error) {
      this.options.logger.warn({ err: error }, 'command timeout sweep failed; trying again later')
    }
  }

  private async sweepOnce(): Promise<number> {
    const { readStore, timeoutMs } = this.options
    const now = this.options.now().getTime()
    const pending = await readStore.collection<ThingCommandDocument>(thingCommandsProjection.collection).find({ state: open })
    const things = readStore.collection<ThingDocument>(thingsProjection.collection)
    let timedOut = 0
    for (const command of pending) {
      if (Date.parse(command.requested_at) + timeoutMs > now) continue
      const thing = await things.get(command.thing_id)
      const result = await recordCommandOutcome(this.options, {
        thingId: command.thing_id,
        accountId: thing?.account_id ?? null,
        seq: command.seq,
        outcome: 'timed_out',
        reason: `no answer within ${timeoutMs / 1000} s`,
        reporter: 'command-timeout',
      })
      if (result.newEvents.length > 0) timedOut++
    }
    if (timedOut > 0) this.options.logger.info({ timedOut }, 'commands timed out')
    return timedOut
  }
}
