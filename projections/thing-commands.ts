/**
 * Read model `thingCommands`: one document per command sent to a thing, with the state
 * its delivery reached (requested, delivered, acknowledged, failed, timed out).
 */
import { commandStateOf, type CommandState, type ThingEvent } from '../domain/thing/thing.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface ThingCommandView {
  readonly id: string
  readonly seq: number
  readonly channel: number
  readonly value: string | number | boolean
  readonly state: CommandState
  readonly reason: string | null
  readonly requested_at: string
  readonly updated_at: string
}

/** keyed `<thingId>:<seq>`, which is what the outcome events name */
export type ThingCommandDocument = Omit<ThingCommandView, 'id'> & {
  readonly id: string
  readonly command_id: string
  readonly thing_id: string
  readonly [field: string]: unknown
}

type CommandEvent = Extract<ThingEvent, { type: 'CommandRequested' | 'CommandDelivered' | 'CommandAcknowledged' | 'CommandFailed' | 'CommandTimedOut' }>

export const thingCommandsProjection = projection<CommandEvent, ThingCommandDocument>({
  name: 'thingCommands',
  version: 1,
  collection: 'thing_commands',
  indexes: ['thing_id'],
  canHandle: ['CommandRequested', 'CommandDelivered', 'CommandAcknowledged', 'CommandFailed', 'CommandTimedOut'],
  documentId: (event) => `${event.data.thingId}:${event.data.seq}`,
  evolve(document, event) {
    switch (event.type) {
      case 'CommandRequested': {
        const d = event.data
        return {
          id: `${d.thingId}:${d.seq}`,
          command_id: d.commandId,
          thing_id: d.thingId,
          seq: d.seq,
          channel: d.channel,
          value: d.value,
          state: 'requested',
          reason: null,
          requested_at: d.requestedAt,
          updated_at: d.requestedAt,
        }
      }
      case 'CommandDelivered':
      case 'CommandAcknowledged':
      case 'CommandFailed':
      case 'CommandTimedOut':
        if (!document) return null
        return { ...document, state: commandStateOf(event.type), reason: event.data.reason, updated_at: event.data.at }
    }
  },
})

export function toThingCommandView(document: ThingCommandDocument): ThingCommandView {
  return {
    id: document.command_id,
    seq: document.seq,
    channel: document.channel,
    value: document.value,
    state: document.state,
    reason: document.reason,
    requested_at: document.requested_at,
    updated_at: document.updated_at,
  }
}

/** The thing's commands, newest first. */
export function commandsOf(readStore: ReadStore, thingId: string, options: { limit: number; offset: number }): Promise<ThingCommandDocument[]> {
  return readStore
    .collection<ThingCommandDocument>(thingCommandsProjection.collection)
    .find({ thing_id: thingId }, { orderBy: 'seq', descending: true, limit: options.limit, offset: options.offset })
}
