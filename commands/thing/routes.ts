/** The thing endpoints of the platform API: CRUD, commands, and the history for auditors. */
import { Router, type Request } from 'express'
import { z } from 'zod'
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
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { ifMatchRevision, setRevisionTag } from '../http/etag.ts'
import { accountOf } from '../http/tenancy.ts'
import { metadataOf, requireRole } from '../http/auth.ts'
import { NotFoundError, ValidationError } from '../../domain/errors.ts'
import { redecodeThing } from './redecode.ts'
import { parseInput } from '../http/validate.ts'
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

export function thingRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Things']
  const thingIdOf = (req: Request): string =>
    uuidParamOf(req, 'thingId', (id) => new NotFoundError(`Thing ${id} not found`, 'thing_not_found'))
  const contextOf = (req: Request, ifMatch?: number) => commandContextOf(deps, req, ifMatch)
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
    if (!document) throw new NotFoundError(`Thing ${thingId} not found`, 'thing_not_found')
    return document
  }
  const thingIdPath = { thingId: 'thing id (UUID)' }
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

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/things',
    operationId: 'createThing',
    summary: 'Create a thing (call POST /v1.1/clients first)',
    tags,
    secured: true,
    body: createThingBody,
    responses: { 201: { description: 'Object added', schema: thingResponse, headers: { ETag: 'revision' } } },
  })
  router.post('/v1.1/things', deps.requireBearer, async (req, res) => {
    const body = parseInput(createThingBody, req.body)
    const accountId = accountOf(req)
    const result = await createThing(body, accountId, deps.newId(), deps.readStore, contextOf(req))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.status(201).json(thingViewOf(existingOf(result.state)))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things',
    operationId: 'listThings',
    summary: 'The account\'s things whose status is ACTIVE',
    tags,
    secured: true,
    responses: { 200: { description: 'Things', schema: z.array(thingResponse) } },
  })
  router.get('/v1.1/things', deps.requireBearer, async (req, res) => {
    const documents = await activeThingsOf(deps.readStore, accountOf(req))
    res.json(documents.map(toThingView))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things/{thingId}',
    operationId: 'getThing',
    summary: 'A single thing with its children; with as_of, the thing as it was then',
    tags,
    secured: true,
    pathParams: thingIdPath,
    query: getThingQuery,
    responses: { 200: { description: 'The thing', schema: thingWithChildrenResponse, headers: { ETag: 'revision, for If-Match' } } },
  })
  router.get('/v1.1/things/:thingId', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const query = Object.keys(req.query).length === 0 ? {} : parseInput(getThingQuery, req.query, 'query')
    const accountId = accountOf(req)
    if (query.as_of === undefined) {
      const key = `${accountId}\u0000${thingId}`
      const cached = cachedAnswer(key)
      if (cached) {
        setRevisionTag(res, cached.etag)
        res.type('json').send(cached.json)
        return
      }
      const readAt = deps.readModelsPosition?.()
      const document = await thingOrNotFound(accountId, thingId)
      const json = JSON.stringify(await withChildren(accountId, toThingView(document)))
      keepAnswer(key, readAt, { etag: document.revision, json })
      setRevisionTag(res, document.revision)
      res.type('json').send(json)
      return
    }
    await thingOrNotFound(accountId, thingId)
    const events = await thingEvents(deps.eventStore, thingId)
    const then = thingAsOf(events, thingId, query.as_of)
    if (!then || then.accountId !== accountId) {
      throw new NotFoundError(`Thing ${thingId} did not exist in this account at ${query.as_of}`, 'thing_not_found')
    }
    // The children as they are now: the hierarchy of that moment would need every child's history.
    res.json({ ...thingViewOf(then), children: [] })
  })

  deps.openapi.add({
    method: 'put',
    path: '/v1.1/things/{thingId}',
    operationId: 'updateThing',
    summary: 'Update a thing (partial)',
    tags,
    secured: true,
    pathParams: thingIdPath,
    headers: [{ name: 'If-Match', description: 'apply only if the thing is still at this ETag (412 otherwise)' }],
    body: updateThingBody,
    responses: {
      200: { description: 'The updated thing', schema: thingWithChildrenResponse, headers: { ETag: 'revision' } },
      412: { description: 'If-Match no longer holds' },
    },
  })
  router.put('/v1.1/things/:thingId', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const body = parseInput(updateThingBody, req.body)
    const accountId = accountOf(req)
    const result = await updateThing(body, accountId, thingId, deps.readStore, contextOf(req, ifMatchRevision(req)))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(await withChildren(accountId, await writtenView(accountId, result.state)))
  })

  deps.openapi.add({
    method: 'delete',
    path: '/v1.1/things/{thingId}',
    operationId: 'deactivateThing',
    summary: 'Remove a thing: its status becomes DEACTIVATED, its history stays',
    tags,
    secured: true,
    pathParams: thingIdPath,
    responses: { 200: { description: 'The deactivated thing', schema: thingResponse, headers: { ETag: 'revision' } } },
  })
  router.delete('/v1.1/things/:thingId', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const accountId = accountOf(req)
    const result = await deactivateThing(accountId, thingId, contextOf(req))
    await deps.readYourWrites(result.position)
    setRevisionTag(res, result.revision)
    res.json(await writtenView(accountId, result.state))
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/things/{thingId}/cmd',
    operationId: 'sendCommand',
    summary: 'Send a command to a channel of the thing (recorded now, delivered over MQTT)',
    tags,
    secured: true,
    pathParams: thingIdPath,
    body: sendCommandBody,
    responses: {
      200: { description: 'The command was recorded', schema: commandSentResponse },
      409: { description: 'The thing is not ACTIVE' },
    },
  })
  router.post('/v1.1/things/:thingId/cmd', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const body = parseInput(sendCommandBody, req.body)
    const result = await sendCommand(body, accountOf(req), thingId, deps.newId(), contextOf(req))
    await deps.readYourWrites(result.position)
    res.json({ success: true })
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things/{thingId}/commands',
    operationId: 'listThingCommands',
    summary: 'The commands sent to the thing, newest first, each with its state (beyond the API text)',
    tags,
    secured: true,
    pathParams: thingIdPath,
    query: commandsQuery,
    responses: { 200: { description: 'Commands', schema: z.array(thingCommandResponse) } },
  })
  router.get('/v1.1/things/:thingId/commands', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const query = parseInput(commandsQuery, req.query, 'query')
    await thingOrNotFound(accountOf(req), thingId)
    const documents = await commandsOf(deps.readStore, thingId, query)
    res.json(documents.map(toThingCommandView))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/things/{thingId}/history',
    operationId: 'getThingHistory',
    summary: 'The thing\'s events as a timeline, for auditors (beyond the API text)',
    description: 'Oldest first. Pass `next_cursor` as `cursor` for the next page.',
    tags,
    secured: true,
    pathParams: thingIdPath,
    query: historyQuery,
    responses: { 200: { description: 'The timeline', schema: historyResponse } },
  })
  router.get('/v1.1/things/:thingId/history', deps.requireBearer, async (req, res) => {
    const thingId = thingIdOf(req)
    const query = parseInput(historyQuery, req.query, 'query')
    await thingOrNotFound(accountOf(req), thingId)
    const types = query.type?.split(',').map((type) => type.trim())
    const events = await thingEvents(deps.eventStore, thingId, { telemetry: asksForTelemetry(types) })
    const { entries, next } = filterHistory(events, {
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.to === undefined ? {} : { to: query.to }),
      ...(types === undefined ? {} : { types }),
      ...(query.cursor === undefined ? {} : { after: Number(query.cursor) }),
      limit: query.limit,
    })
    res.json({ events: entries.map(toHistoryEntry), next_cursor: next === null ? null : String(next) })
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/things/{thingId}/redecode',
    operationId: 'redecodeThing',
    summary: 'Decode the thing\'s kept payloads again (after a codec fix) and record the corrections (admin only; beyond the API text)',
    description:
      'Each reading whose kept payload now decodes to another channel, type, unit or value gets a `SensorReadingCorrected` event in ' +
      '`telemetry-<thingId>` (pointing at the reading it corrects); recorded events are never rewritten. Running it again records nothing.',
    tags,
    secured: true,
    pathParams: thingIdPath,
    body: redecodeBody,
    bodyMediaTypes: ['application/json'],
    responses: { 200: { description: 'What was decoded again and corrected', schema: redecodeResponse } },
  })
  router.post('/v1.1/things/:thingId/redecode', deps.requireBearer, requireRole('admin'), async (req, res) => {
    const thingId = thingIdOf(req)
    const body = parseInput(redecodeBody, req.body ?? {})
    if (body.from !== undefined && body.to !== undefined && !(Date.parse(body.from) < Date.parse(body.to))) {
      throw new ValidationError('from must be before to', [{ field: 'to', problem: 'must be after from' }])
    }
    await thingOrNotFound(accountOf(req), thingId)
    const result = await redecodeThing(
      { eventStore: deps.eventStore, readStore: deps.readStore, newId: deps.newId, now: deps.now, metadata: metadataOf(req) },
      { thingId, ...(body.from === undefined ? {} : { from: body.from }), ...(body.to === undefined ? {} : { to: body.to }), ...(body.codec === undefined ? {} : { codec: body.codec }) },
    )
    await deps.readYourWrites(result.position)
    res.json({ codec: result.codec, examined: result.examined, corrected: result.corrected, without_payload: result.withoutPayload, skipped: result.skipped })
  })

  return router
}
