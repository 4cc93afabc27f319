/**
 * Reactors: the only place side effects happen (an e-mail, an SMS, an HTTP push, an
 * MQTT command). Each reactor follows the event log from its own checkpoint and handles
 * the events that ask for its effect:
 *
 * - at least once: the checkpoint moves past an event only after its handler
 *   succeeded; a failing handler is retried (with a growing pause) before anything later;
 * - idempotent by event id: handlers get the event, whose id is the key they hand to the
 *   outside world (e.g. the e-mail's Message-ID), so a redelivery can be recognised;
 * - never for history: a reactor without a checkpoint (its first start, or a log
 *   restored from a backup) begins at the head of the log, so a replay or a rebuild
 *   never re-sends anything. `capsicum rebuild` does not run reactors at all.
 */
import type { Logger } from '../../commands/logger.ts'
import type { DomainEvent } from '../../domain/decider.ts'
import type { EventStore, RecordedEvent, Subscription } from '../../commands/event-store.ts'

export interface Reactor<E extends DomainEvent = DomainEvent> {
  /** also its checkpoint's name (prefixed `reactor:`) */
  readonly name: string
  readonly canHandle: readonly E['type'][]
  handle(event: RecordedEvent<E>): Promise<void>
}

/** Typing helper, like `projection(...)`: `canHandle` is checked against the event union. */
export function reactor<E extends DomainEvent>(definition: Reactor<E>): Reactor {
  return definition as unknown as Reactor
}

/** Where reactors keep their positions (the composition root adapts the ReadStore's checkpoints). */
export interface ReactorCheckpoints {
  load(name: string): Promise<number | null | undefined>
  save(name: string, position: number): Promise<void>
}

export interface ReactorRunnerOptions {
  readonly eventStore: EventStore
  readonly checkpoints: ReactorCheckpoints
  readonly reactors: readonly Reactor[]
  readonly logger: Logger
  /** first pause after a failure; doubles up to 60 s */
  readonly retryDelayMs?: number
}

export class ReactorRunner {
  private readonly subscriptions: Subscription[] = []
  private stopping = false
  private readonly wakers = new Set<() => void>()

  constructor(private readonly options: ReactorRunnerOptions) {
    const names = new Set<string>()
    for (const r of options.reactors) {
      if (names.has(r.name)) throw new Error(`Two reactors are named "${r.name}"`)
      names.add(r.name)
    }
  }

  async start(): Promise<void> {
    this.stopping = false
    const { eventStore, checkpoints, logger } = this.options
    for (const r of this.options.reactors) {
      const key = `reactor:${r.name}`
      let from = await checkpoints.load(key)
      if (from === undefined) {
        // First start: only what happens from now on.
        from = await eventStore.headPosition()
        if (from !== null) await checkpoints.save(key, from)
        logger.info({ reactor: r.name, from }, 'reactor starts at the head of the log')
      }
      let saved = from
      this.subscriptions.push(
        eventStore.subscribeToAll(
          {
            fromPosition: from,
            maxBatch: 100,
            eventTypes: r.canHandle,
            onError: (error) => logger.error({ err: error, reactor: r.name }, 'reactor stopped'),
          },
          async (events, through) => {
            for (const event of events) {
              if (this.stopping) return
              // Stopping in the middle of a delivery: the checkpoint stays before the event.
              if (!(await this.deliver(r, event))) return
              await checkpoints.save(key, event.position)
              saved = event.position
            }
            // The log between this reactor's events is skipped in the engine; the checkpoint
            // follows it now and then, to keep a restart's rescan short.
            if (!this.stopping && through - (saved ?? -1) >= 10_000) {
              await checkpoints.save(key, through)
              saved = through
            }
          },
        ),
      )
    }
  }

  async stop(): Promise<void> {
    this.stopping = true
    for (const wake of this.wakers) wake()
    await Promise.all(this.subscriptions.map((s) => s.stop()))
    this.subscriptions.length = 0
  }

  /** True once the handler succeeded; false when the runner stops first. */
  private async deliver(r: Reactor, event: RecordedEvent): Promise<boolean> {
    let delay = this.options.retryDelayMs ?? 1000
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await r.handle(event)
        return true
      } catch (error) {
        this.options.logger.warn({ err: error, reactor: r.name, event: event.id, attempt }, 'reactor failed; retrying')
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, delay)
          const wakers = this.wakers
          function done(): void {
            clearTimeout(timer)
            wakers.delete(done)
            resolve()
          }
          wakers.add(done)
        })
        delay = Math.min(delay * 2, 60_000)
      }
    }
    return false
  }
}
