/** The thing endpoints of the platform API: CRUD, commands, and the history for auditors. */
import { z } from 'zod'
import { NotFoundError, ValidationError } from '../../domain/errors.ts'
import { commandsOf, toThingCommandView } from '../../projections/thing-commands.ts'
import {
  activeThingsOf,
  childrenOf,
  thingOfAccount,
  thingViewOf,
  toThingView,
  type ThingView,
} from '../../projections/things.ts'
import type { ExistingThing, ThingState } from '../../domain/thing/thing.ts'
import { endpoint, uuidParam, written, type Endpoint } from '../http/endpoint.ts'
import { setRevisionTag } from '../http/etag.ts'
import { accountOf } from '../http/tenancy.ts'
import { metadataOf } from '../http/auth.ts'
import { redecodeThing } from './redecode.ts'
import type { RouteDeps } from '../route-deps.ts'
import { createThing } from './create-thing.ts'
import { deactivateThing } from './deactivate-thing.ts'
import { asksForTelemetry, filterHistory, thingAsOf, thingEvents, toHistoryEntry } from './history.ts'
import {
  commandSentResponse,
  commandsQuery,
  createThingBody,
  getThingQuery,
  historyQuery,
  historyResponse,
  redecodeBody,
  redecodeResponse,
  sendCommandBody,
  thingCommandResponse,
  thingResponse,
  thingWithChildrenResponse,
  updateThingBody,
} from './schemas.ts'
import { sendCommand } from './send-command.ts'
import { updateThing } from './update-thing.ts'

const notFound = (id: string) => new NotFoundError(`Thing ${id} not found`, 'thing_not_found')

export function thingEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Things']
  const existingOf = (state: ThingState): ExistingThing => {
    if (!state.exists) throw new Error('thing does not exist after the command')
    return state
  }
  const withChildren = async (accountId: string, view: ThingView) => ({
    ...view,
    children: (await childrenOf(deps.readStore, accountId, view.id)).map(toThingView),
  })
  const thingOrNotFound = async (accountId: string, thingId: string) => {
    const document = await thingOfAccount(deps.readStore, accountId, thingId)
    if (!document) throw notFound(thingId)
    return document
  }
  const params = { thingId: uuidParam('thing id (UUID)', notFound) }
  /** The written thing, with last_online from the read model: the aggregate knows nothing of telemetry. */
  const writtenView = async (accountId: string, state: ThingState): Promise<ThingView> => {
    const view = thingViewOf(existingOf(state))
    const document = await thingOfAccount(deps.readStore, accountId, view.id)
    return { ...view, last_online: document?.last_online ?? 0 }
  }

  /**
   * GET /v1.1/things/{id} answers, serialized, for as long as the read models stay at the
   * position they were read at: any new event clears them all. Only where this node keeps
   * the read models itself (otherwise another node's writes would go unnoticed).
   */
  const answers = new Map<string, { readonly etag: number; readonly json: string }>()
  let answersPosition: number | null | undefined
  const maxAnswers = 10_000
  const cachedAnswer = (key: string) => {
    const position = deps.readModelsPosition?.()
    if (position === undefined || position !== answersPosition) {
      answers.clear()
      answersPosition = position
      return undefined
    }
    return answers.get(key)
  }
  const keepAnswer = (key: string, readAt: number | null | undefined, answer: { etag: number; json: string }): void => {
    if (readAt === undefined || readAt !== answersPosition || deps.readModelsPosition?.() !== readAt) return
    if (answers.size >= maxAnswers) answers.clear()
    answers.set(key, answer)
  }

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/things',
      operationId: 'createThing',
      summary: 'Create a thing (call POST /v1.1/clients first)',
      tags,
      auth: 'bearer',
      body: createThingBody,
      responses: { 201: { description: 'Object added', schema: thingResponse, headers: { ETag: 'revision' } } },
      async handle({ req, body, context }) {
        const result = await createThing(body, accountOf(req), deps.newId(), deps.readStore, context())
        return { status: 201, body: thingViewOf(existingOf(result.state)), revision: result.revision, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things',
      operationId: 'listThings',
      summary: 'The account\'s things whose status is ACTIVE',
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Things', schema: z.array(thingResponse) } },
      async handle({ req }) {
        return { body: (await activeThingsOf(deps.readStore, accountOf(req))).map(toThingView) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}',
      operationId: 'getThing',
      summary: 'A single thing with its children; with as_of, the thing as it was then',
      tags,
      auth: 'bearer',
      params,
      query: getThingQuery,
      responses: { 200: { description: 'The thing', schema: thingWithChildrenResponse, headers: { ETag: 'revision, for If-Match' } } },
      async handle({ req, res, params: { thingId }, query }) {
        const accountId = accountOf(req)
        if (query.as_of === undefined) {
          const key = `${accountId}\u0000${thingId}`
          let answer = cachedAnswer(key)
          if (!answer) {
            const readAt = deps.readModelsPosition?.()
            const document = await thingOrNotFound(accountId, thingId)
            answer = { etag: document.revision, json: JSON.stringify(await withChildren(accountId, toThingView(document))) }
            keepAnswer(key, readAt, answer)
          }
          setRevisionTag(res, answer.etag)
          res.type('json').send(answer.json)
          return written
        }
        await thingOrNotFound(accountId, thingId)
        const events = await thingEvents(deps.eventStore, thingId)
        const then = thingAsOf(events, thingId, query.as_of)
        if (!then || then.accountId !== accountId) {
          throw new NotFoundError(`Thing ${thingId} did not exist in this account at ${query.as_of}`, 'thing_not_found')
        }
        // The children as they are now: the hierarchy of that moment would need every child's history.
        return { body: { ...thingViewOf(then), children: [] } }
      },
    }),
    endpoint({
      method: 'put',
      path: '/v1.1/things/{thingId}',
      operationId: 'updateThing',
      summary: 'Update a thing (partial)',
      tags,
      auth: 'bearer',
      params,
      ifMatch: true,
      body: updateThingBody,
      responses: { 200: { description: 'The updated thing', schema: thingWithChildrenResponse, headers: { ETag: 'revision' } } },
      async handle({ req, params, body, context }) {
        const accountId = accountOf(req)
        const result = await updateThing(body, accountId, params.thingId, deps.readStore, context())
        await deps.readYourWrites(result.position)
        return { body: await withChildren(accountId, await writtenView(accountId, result.state)), revision: result.revision }
      },
    }),
    endpoint({
      method: 'delete',
      path: '/v1.1/things/{thingId}',
      operationId: 'deactivateThing',
      summary: 'Remove a thing: its status becomes DEACTIVATED, its history stays',
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The deactivated thing', schema: thingResponse, headers: { ETag: 'revision' } } },
      async handle({ req, params, context }) {
        const accountId = accountOf(req)
        const result = await deactivateThing(accountId, params.thingId, context())
        await deps.readYourWrites(result.position)
        return { body: await writtenView(accountId, result.state), revision: result.revision }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/things/{thingId}/cmd',
      operationId: 'sendCommand',
      summary: 'Send a command to a channel of the thing (recorded now, delivered over MQTT)',
      tags,
      auth: 'bearer',
      params,
      body: sendCommandBody,
      responses: {
        200: { description: 'The command was recorded', schema: commandSentResponse },
        409: { description: 'The thing is not ACTIVE' },
      },
      async handle({ req, params, body, context }) {
        const result = await sendCommand(body, accountOf(req), params.thingId, deps.newId(), context())
        return { body: { success: true }, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}/commands',
      operationId: 'listThingCommands',
      summary: 'The commands sent to the thing, newest first, each with its state (beyond the API text)',
      tags,
      auth: 'bearer',
      params,
      query: commandsQuery,
      responses: { 200: { description: 'Commands', schema: z.array(thingCommandResponse) } },
      async handle({ req, params, query }) {
        await thingOrNotFound(accountOf(req), params.thingId)
        const documents = await commandsOf(deps.readStore, params.thingId, query)
        return { body: documents.map(toThingCommandView) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/things/{thingId}/history',
      operationId: 'getThingHistory',
      summary: 'The thing\'s events as a timeline, for auditors (beyond the API text)',
      description: 'Oldest first. Pass `next_cursor` as `cursor` for the next page.',
      tags,
      auth: 'bearer',
      params,
      query: historyQuery,
      responses: { 200: { description: 'The timeline', schema: historyResponse } },
      async handle({ req, params, query }) {
        await thingOrNotFound(accountOf(req), params.thingId)
        const types = query.type?.split(',').map((type) => type.trim())
        const events = await thingEvents(deps.eventStore, params.thingId, { telemetry: asksForTelemetry(types) })
        const { entries, next } = filterHistory(events, {
          ...(query.from === undefined ? {} : { from: query.from }),
          ...(query.to === undefined ? {} : { to: query.to }),
          ...(types === undefined ? {} : { types }),
          ...(query.cursor === undefined ? {} : { after: Number(query.cursor) }),
          limit: query.limit,
        })
        return { body: { events: entries.map(toHistoryEntry), next_cursor: next === null ? null : String(next) } }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/things/{thingId}/redecode',
      operationId: 'redecodeThing',
      summary: 'Decode the thing\'s kept payloads again (after a codec fix) and record the corrections (admin only; beyond the API text)',
      description:
        'Each reading whose kept payload now decodes to another channel, type, unit or value gets a `SensorReadingCorrected` event in ' +
        '`telemetry-<thingId>` (pointing at the reading it corrects); recorded events are never rewritten. Running it again records nothing.',
      tags,
      auth: 'bearer',
      roles: ['admin'],
      params,
      body: redecodeBody,
      bodyOptional: true,
      bodyMediaTypes: ['application/json'],
      responses: { 200: { description: 'What was decoded again and corrected', schema: redecodeResponse } },
      async handle({ req, params: { thingId }, body }) {
        if (body.from !== undefined && body.to !== undefined && !(Date.parse(body.from) < Date.parse(body.to))) {
          throw new ValidationError('from must be before to', [{ field: 'to', problem: 'must be after from' }])
        }
        await thingOrNotFound(accountOf(req), thingId)
        const result = await redecodeThing(
          { eventStore: deps.eventStore, readStore: deps.readStore, newId: deps.newId, now: deps.now, metadata: metadataOf(req) },
          { thingId, ...(body.from === undefined ? {} : { from: body.from }), ...(body.to === undefined ? {} : { to: body.to }), ...(body.codec === undefined ? {} : { codec: body.codec }) },
        )
        return {
          body: { codec: result.codec, examined: result.examined, corrected: result.corrected, without_payload: result.withoutPayload, skipped: result.skipped },
          position: result.position,
        }
      },
    }),
  ]
}
