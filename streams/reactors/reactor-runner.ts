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
import type { Logger } from '../../domain/ports/logger.ts'
import type { DomainEvent } from '../../domain/decider.ts'
import type { EventStore, RecordedEvent } from '../../domain/ports/event-store.ts'
import { LogFollower, type FollowerRegistry } from '../../projections/log-follower.ts'

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
  /** where the reactors' followers are reported (readiness, metrics) */
  readonly followers?: FollowerRegistry
}

/** One follower per reactor, each from its own checkpoint (`reactor:<name>`). */
export class ReactorRunner {
  readonly followers: readonly LogFollower[]

  constructor(options: ReactorRunnerOptions) {
    const names = new Set<string>()
    for (const r of options.reactors) {
      if (names.has(r.name)) throw new Error(`Two reactors are named "${r.name}"`)
      names.add(r.name)
    }
    const { eventStore, checkpoints, logger } = options
    this.followers = options.reactors.map((r) => {
      const key = `reactor:${r.name}`
      return new LogFollower({
        name: key,
        eventStore,
        logger,
        eventTypes: r.canHandle,
        maxBatch: 100,
        // First start: only what happens from now on.
        startAt: 'head',
        checkpoint: { load: () => checkpoints.load(key), save: (position) => checkpoints.save(key, position) },
        // A failed side effect is retried, and nothing after it runs before it succeeded.
        retry: { firstDelayMs: options.retryDelayMs ?? 1000, maxDelayMs: 60_000 },
        handle: async (events, _through, control) => {
          for (const event of events) {
            // Stopping in the middle of a batch: the checkpoint stays before the next event.
            if (control.stopping) return
            await r.handle(event)
            await control.progress(event.position)
          }
        },
      })
    })
    for (const follower of this.followers) options.followers?.add(follower)
  }

  async start(): Promise<void> {
    for (const follower of this.followers) await follower.start()
  }

  async stop(): Promise<void> {
    await Promise.all(this.followers.map((follower) => follower.stop()))
  }
}
