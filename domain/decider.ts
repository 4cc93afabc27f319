/**
 * The shape every aggregate takes (after Emmett): events are readonly records with a
 * `type` and `data`; `decide` turns a command and the current state into new events (an
 * empty array means "already done", which makes retries idempotent) or throws a
 * CapsicumError; `evolve` folds one event into the state. No I/O, no clock, no
 * randomness: ids and time arrive on the command.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type
  readonly data: Data
}

export interface Command<Type extends string = string, Data = unknown> {
  readonly type: Type
  readonly data: Data
}

export interface Decider<State, Cmd extends Command, Event extends DomainEvent> {
  readonly initialState: State
  decide(command: Cmd, state: State, now: Date): Event[]
  evolve(state: State, event: Event): State
}

/** Folds a history into state: what the command handler and the tests both do. */
export function fold<State, Event extends DomainEvent>(
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve'>,
  events: readonly Event[],
): State {
  return events.reduce((state, event) => decider.evolve(state, event), decider.initialState)
}

/** The exhaustiveness check that closes every `switch` on a discriminant. */
export function unreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`)
}
