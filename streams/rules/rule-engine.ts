/**
 * Rule evaluation in the telemetry processor (a ReadingHook). Every rule's folded state
 * is held in memory with an index thing → channel → enabled rules, so a reading costs
 * the rules watching its thing and channel, whatever the number of rules elsewhere.
 *
 * - Start: the rules read model and its checkpoint (or, without them, the log from its
 *   start), then the log followed from there: rule events from the API or another node
 *   keep the memory current; an event at or below a rule's known revision is skipped.
 * - A reading that changes nothing in memory costs no I/O, and no promise: it is decided at
 *   once from the known state. The readings of a batch that do change something go through
 *   handleCommandBatch from the known state, as one append with the expected revision;
 *   when another writer moved the rule's stream on (a redelivered batch, another node, an
 *   API update), the append conflicts and the stream is read and decided again, so two
 *   evaluations racing on one rule cannot both fire it.
 * - Per rule, readings are evaluated one after another, in the order they came.
 */
import type { TriggeringReading } from '../../domain/automation/effects.ts'
import {
  isUnseenReading,
  outcomeOfUnseenReading,
  ruleDecider,
  ruleEventTypes,
  ruleStreamName,
  spanChangesNothing,
  spanOf,
  type ExistingRule,
  type ReadingsSpan,
  type RecordEvaluation,
  type RuleEvent,
  type RuleState,
} from '../../domain/rule/rule.ts'
import type { EventMetadata, EventStore, RecordedEvent } from '../../domain/ports/event-store.ts'
import { LogFollower, type FollowerRegistry } from '../../projections/log-follower.ts'
import { handleCommandBatch, type CommandInBatch } from '../../commands/handle-command.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { ruleStateOf, rulesForEvaluation } from '../../projections/rules.ts'
import type { ReadingHook, RecordedReading } from '../../domain/ports/reading-hook.ts'
import type { Logger } from '../../domain/ports/logger.ts'

export interface RuleEngineOptions {
  readonly eventStore: EventStore
  readonly readStore: ReadStore
  readonly now: () => Date
  readonly newId: () => string
  readonly logger: Logger
  /** where its follower is reported (readiness, metrics) */
  readonly followers?: FollowerRegistry
}

interface KnownRule {
  readonly state: ExistingRule
  readonly revision: number
}

const ruleEvents: ReadonlySet<string> = new Set(ruleEventTypes)

export class RuleEngine implements ReadingHook {
  readonly name = 'rules'
  private readonly rules = new Map<string, KnownRule>()
  /** thing id → channel → ids of the enabled rules with a trigger there */
  private readonly index = new Map<string, Map<string, Set<string>>>()
  /** per rule, the evaluation in flight: the next one waits for it */
  private readonly queues = new Map<string, Promise<void>>()
  private applied: number | null = null
  private waiters: { readonly position: number; readonly resolve: () => void; readonly reject: (error: unknown) => void }[] = []
  private failure: unknown
  /** how the memory was loaded at the last start */
  private loadedFrom: 'read model' | 'log' = 'log'
  readonly follower: LogFollower

  constructor(private readonly options: RuleEngineOptions) {
    this.follower = new LogFollower({
      name: 'rules',
      eventStore: options.eventStore,
      logger: options.logger,
      eventTypes: [...ruleEvents],
      maxBatch: 1000,
      startAt: 'beginning',
      // the rules read model holds the rules up to its checkpoint: the memory starts from it
      checkpoint: { load: () => this.load() },
      handle: async (events, through) => this.follow(events, through),
      onFailure: (error) => this.fail(error),
    })
    options.followers?.add(this.follower)
  }

  /** Loads every rule and follows the log; resolves once the memory holds the whole log as of now. */
  async start(): Promise<void> {
    this.failure = undefined
    await this.follower.start()
    await this.catchUp()
    this.options.logger.info({ rules: this.rules.size, from: this.loadedFrom }, 'rule engine started')
  }

  async stop(): Promise<void> {
    await this.follower.stop()
    await Promise.all(this.queues.values())
  }

  private async load(): Promise<number | null> {
    const loaded = await rulesForEvaluation(this.options.readStore)
    for (const document of loaded?.rules ?? []) this.remember(document.id, ruleStateOf(document), document.revision)
    this.loadedFrom = loaded ? 'read model' : 'log'
    this.applied = loaded?.position ?? null
    return this.applied
  }

  /** Resolves once every event written before this call is in the memory. */
  async catchUp(): Promise<void> {
    const head = await this.options.eventStore.headPosition()
    if (head === null || (this.applied !== null && this.applied >= head)) return
    if (this.failure) throw this.failure
    await new Promise<void>((resolve, reject) => this.waiters.push({ position: head, resolve, reject }))
  }

  async onReadings(readings: readonly RecordedReading[]): Promise<void> {
    if (this.failure) throw this.failure
    // The batch's readings by the rules watching their thing and channel, in order: a rule
    // watching one channel takes its group as it is, with no array of its own.
    let groups: Map<ReadonlySet<string>, TriggeringReading[]> | undefined
    for (const r of readings) {
      const ids = this.index.get(r.thingId)?.get(r.channel)
      if (!ids) continue
      groups ??= new Map()
      let group = groups.get(ids)
      if (!group) groups.set(ids, (group = []))
      group.push({ key: r.key, thingId: r.thingId, channel: r.channel, type: r.type, unit: r.unit, value: r.value, at: r.at })
    }
    if (!groups) return
    const work = new Map<string, readonly TriggeringReading[]>()
    let watchingSeveral: Set<string> | undefined
    for (const [ids, group] of groups) {
      for (const id of ids) {
        if (!work.has(id)) work.set(id, group)
        else (watchingSeveral ??= new Set()).add(id)
      }
    }
    if (watchingSeveral) {
      // a rule watching several channels of the batch: its readings of all of them, in the batch's order
      const order = new Map(readings.map((r, i) => [r.key, i]))
      for (const id of watchingSeveral) {
        const own: TriggeringReading[] = []
        for (const [ids, group] of groups) if (ids.has(id)) own.push(...group)
        work.set(id, own.sort((x, y) => order.get(x.key)! - order.get(y.key)!))
      }
    }
    // Most rules decide nothing: that is found out now, and only a rule with an append in
    // flight, or one with something to append, waits in its queue (a chain of promises a rule
    // and a batch was half the engine's time with 50 rules on a thing). Each group's span
    // is taken once, for all the rules watching it.
    const spans = new Map<readonly TriggeringReading[], ReadingsSpan | null>()
    const appends: Promise<void>[] = []
    for (const [id, queued] of work) {
      let span = spans.get(queued)
      if (span === undefined) spans.set(queued, (span = spanOf(queued)))
      if (this.queues.has(id) || this.changesAnything(id, queued, span)) appends.push(this.serially(id, () => this.evaluate(id, queued)))
    }
    await Promise.all(appends)
  }

  /**
   * Whether any of the readings decides an event of the rule, from its known state: their
   * span answers for all of them when it can (a one-trigger numeric rule, the common case);
   * otherwise reading by reading. Keys grow within a thing, so once a reading of a thing is
   * unseen by the rule, the thing's next ones are too, and their keys are not compared again
   * (were one not, `evaluate` decides it in full: this check may only say yes too often).
   */
  private changesAnything(ruleId: string, readings: readonly TriggeringReading[], span: ReadingsSpan | null): boolean {
    const known = this.rules.get(ruleId)
    if (!known) return false
    if (span !== null && spanChangesNothing(known.state, span)) return false
    let unseenFrom: string | undefined
    for (const reading of readings) {
      if (reading.thingId !== unseenFrom) {
        if (!isUnseenReading(known.state, reading)) continue
        unseenFrom = reading.thingId
      }
      if (outcomeOfUnseenReading(known.state, reading) !== null) return true
    }
    return false
  }

  /** The rule's readings decided in order from its known state; what fires is one append. */
  private async evaluate(ruleId: string, readings: readonly TriggeringReading[]): Promise<void> {
    const known = this.rules.get(ruleId)
    if (!known) return
    const now = this.options.now()
    const commands: CommandInBatch<RecordEvaluation>[] = []
    let state: RuleState = known.state
    for (const reading of readings) {
      const command: RecordEvaluation = { type: 'RecordEvaluation', data: { ruleId, reading } }
      const events = ruleDecider.decide(command, state, now)
      if (events.length === 0) continue
      state = events.reduce(ruleDecider.evolve, state)
      commands.push({ command, metadata: this.metadataOf(known, reading, now), at: now })
    }
    // Nothing changes: no I/O.
    if (commands.length === 0) return
    const [result] = await handleCommandBatch(ruleDecider, [{ streamName: ruleStreamName(ruleId), commands, known }], {
      eventStore: this.options.eventStore,
      newId: this.options.newId,
    })
    this.remember(ruleId, result!.state, result!.revision)
  }

  private metadataOf(known: KnownRule, reading: TriggeringReading, now: Date): EventMetadata {
    const cause = `telemetry:${reading.key}`
    return {
      actor: { type: 'system', id: 'rule-engine' },
      account_id: known.state.accountId,
      client_id: null,
      correlation_id: cause,
      causation_id: cause,
      time: now.toISOString(),
    }
  }

  private serially(ruleId: string, work: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(ruleId) ?? Promise.resolve()).then(work)
    const tail = next.catch(() => undefined)
    this.queues.set(ruleId, tail)
    void tail.then(() => {
      if (this.queues.get(ruleId) === tail) this.queues.delete(ruleId)
    })
    return next
  }

  private async follow(events: readonly RecordedEvent[], through: number): Promise<void> {
    for (const event of events) {
      if (!ruleEvents.has(event.type)) continue
      const recorded = event as RecordedEvent<RuleEvent>
      const ruleId = recorded.data.ruleId
      const known = this.rules.get(ruleId)
      // Without the rule in memory, only its creation means anything: the rest is the
      // history of a rule deleted before the memory was loaded.
      if (known ? recorded.revision <= known.revision : recorded.type !== 'RuleCreated') continue
      this.remember(ruleId, ruleDecider.evolve(known?.state ?? ruleDecider.initialState, recorded), recorded.revision)
    }
    this.applied = through
    const reached = this.waiters.filter((w) => w.position <= this.applied!)
    this.waiters = this.waiters.filter((w) => w.position > this.applied!)
    for (const waiter of reached) waiter.resolve()
  }

  private fail(error: unknown): void {
    this.failure = error
    for (const waiter of this.waiters) waiter.reject(error)
    this.waiters = []
  }

  /** Keeps the newest state of a rule (by stream revision) and its place in the index. */
  private remember(ruleId: string, state: RuleState, revision: number): void {
    const previous = this.rules.get(ruleId)
    if (previous && revision <= previous.revision) return
    if (state.status !== 'active') {
      this.rules.delete(ruleId)
      if (previous) this.unindex(ruleId, previous.state)
      return
    }
    this.rules.set(ruleId, { state, revision })
    if (previous?.state.definition === state.definition) return
    if (previous) this.unindex(ruleId, previous.state)
    if (!state.definition.enabled) return
    for (const trigger of state.definition.triggers) {
      let byChannel = this.index.get(trigger.thingId)
      if (!byChannel) this.index.set(trigger.thingId, (byChannel = new Map()))
      let ids = byChannel.get(trigger.channel)
      if (!ids) byChannel.set(trigger.channel, (ids = new Set()))
      ids.add(ruleId)
    }
  }

  private unindex(ruleId: string, state: ExistingRule): void {
    for (const trigger of state.definition.triggers) {
      const byChannel = this.index.get(trigger.thingId)
      const ids = byChannel?.get(trigger.channel)
      if (!byChannel || !ids) continue
      ids.delete(ruleId)
      if (ids.size === 0) byChannel.delete(trigger.channel)
      if (byChannel.size === 0) this.index.delete(trigger.thingId)
    }
  }
}
