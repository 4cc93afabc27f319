/**
 * A device command asked for by a rule or job, requested at most once. The thing's own
 * RequestCommand numbers every request anew, so a redelivered RuleTriggered would send
 * the command twice; this decider folds the thing's stream and also notes whether a
 * CommandRequested with this command id is already there. The append with the stream's
 * revision makes that check and the request one step.
 */
import type { Decider } from '../decider.ts'
import { thingDecider, type RequestCommand, type ThingEvent, type ThingState } from '../thing/thing.ts'

export interface CommandOnceState {
  readonly thing: ThingState
  readonly alreadyRequested: boolean
}

export function requestCommandOnce(commandId: string): Decider<CommandOnceState, RequestCommand, ThingEvent> {
  return {
    initialState: { thing: thingDecider.initialState, alreadyRequested: false },
    decide(command, state, now) {
      if (command.data.commandId !== commandId) throw new Error(`this decider requests command ${commandId}, not ${command.data.commandId}`)
      return state.alreadyRequested ? [] : thingDecider.decide(command, state.thing, now)
    },
    evolve(state, event) {
      return {
        thing: thingDecider.evolve(state.thing, event),
        alreadyRequested: state.alreadyRequested || (event.type === 'CommandRequested' && event.data.commandId === commandId),
      }
    },
  }
}
