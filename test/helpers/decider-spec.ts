/**
 * given(events).when(command).then(events): decider tests that read as the behaviour
 * they check, with no server and no store.
 */
import type { Test } from 'tap'
import { fold, type Command, type Decider, type DomainEvent } from '../../domain/decider.ts'

export function given<S, C extends Command, E extends DomainEvent>(decider: Decider<S, C, E>, now: Date) {
  return (history: readonly E[]) => ({
    when(command: C) {
      const run = (): E[] => decider.decide(command, fold(decider, history), now)
      return {
        then(t: Test, expected: readonly E[]): void {
          t.strictSame(run(), expected)
        },
        thenNothingHappened(t: Test): void {
          t.strictSame(run(), [], 'no events')
        },
        thenThrows(t: Test, errorType: abstract new (...args: never[]) => Error): void {
          t.throws(run, errorType)
        },
      }
    },
  })
}
