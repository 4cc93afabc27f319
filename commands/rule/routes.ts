/** The rule endpoints of the platform API, and the what-if simulation (beyond the API text). */
import { Router, type Request } from 'express'
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import type { WhatIf } from '../../domain/rule/what-if.ts'
import { ruleOfAccount, rulesOfAccount, toRuleView } from '../../projections/rules.ts'
import { commandContextOf, uuidParamOf } from '../http/requests.ts'
import { accountOf } from '../http/tenancy.ts'
import { parseInput } from '../http/validate.ts'
import type { RouteDeps } from '../route-deps.ts'
import { createRule } from './create-rule.ts'
import { checkThings, definitionOf } from './definition.ts'
import { deleteRule } from './delete-rule.ts'
import {
  createRuleBody,
  ruleCreatedResponse,
  ruleResponse,
  simulateDraftBody,
  simulateRuleBody,
  simulationResponse,
  successResponse,
  updateRuleBody,
} from './schemas.ts'
import { simulateRule } from './simulate-rule.ts'
import { updateRule } from './update-rule.ts'

const simulationView = (result: WhatIf) => ({
  fires: result.fires.map((r) => ({ at: r.at, thing_id: r.thingId, channel: r.channel, value: r.value, unit: r.unit, type: r.type, key: r.key })),
  evaluated: result.evaluated,
})

export function ruleRoutes(deps: RouteDeps): Router {
  const router = Router()
  const tags = ['Rules']
  const ruleIdOf = (req: Request): string =>
    uuidParamOf(req, 'ruleId', (id) => new NotFoundError(`Rule ${id} not found`, 'rule_not_found'))
  const ruleOrNotFound = async (accountId: string, ruleId: string) => {
    const document = await ruleOfAccount(deps.readStore, accountId, ruleId)
    if (!document) throw new NotFoundError(`Rule ${ruleId} not found`, 'rule_not_found')
    return document
  }
  const ruleIdPath = { ruleId: 'rule id (UUID)' }
  const accountNote = 'A management application may name the account with `account_id`.'
  const json = ['application/json']

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/rules',
    operationId: 'createRule',
    summary: 'Create a rule',
    description: `${accountNote} Every trigger and action must name a thing of the account.`,
    tags,
    secured: true,
    body: createRuleBody,
    bodyMediaTypes: json,
    responses: { 200: { description: 'The new rule\'s id', schema: ruleCreatedResponse } },
  })
  router.post('/v1.1/rules', deps.requireBearer, async (req, res) => {
    const body = parseInput(createRuleBody, req.body)
    const ruleId = deps.newId()
    const result = await createRule(body, accountOf(req), ruleId, deps.readStore, commandContextOf(deps, req))
    await deps.readYourWrites(result.position)
    res.json({ id: ruleId })
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/rules',
    operationId: 'listRules',
    summary: 'The account\'s rules',
    description: accountNote,
    tags,
    secured: true,
    responses: { 200: { description: 'Rules, oldest first', schema: z.array(ruleResponse) } },
  })
  router.get('/v1.1/rules', deps.requireBearer, async (req, res) => {
    res.json((await rulesOfAccount(deps.readStore, accountOf(req))).map(toRuleView))
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/rules/simulate',
    operationId: 'simulateDraftRule',
    summary: 'What a draft rule would have fired on the recorded readings (beyond the API text)',
    description:
      'The rule (the fields of POST /v1.1/rules, nothing saved) is evaluated as if enabled, starting armed, over the readings its trigger things recorded between `from` and `to`, with re-arming and cooldown. Nothing is written or sent.',
    tags,
    secured: true,
    body: simulateDraftBody,
    bodyMediaTypes: json,
    responses: { 200: { description: 'Every fire it would have produced', schema: simulationResponse } },
  })
  router.post('/v1.1/rules/simulate', deps.requireBearer, async (req, res) => {
    const { from, to, ...body } = parseInput(simulateDraftBody, req.body)
    const accountId = accountOf(req)
    const definition = definitionOf(body)
    await checkThings(deps.readStore, accountId, definition)
    res.json(simulationView(await simulateRule({ ruleId: 'draft', accountId, definition }, { from, to }, deps.eventStore)))
  })

  deps.openapi.add({
    method: 'get',
    path: '/v1.1/rules/{ruleId}',
    operationId: 'getRule',
    summary: 'A rule',
    description: accountNote,
    tags,
    secured: true,
    pathParams: ruleIdPath,
    responses: { 200: { description: 'The rule', schema: ruleResponse } },
  })
  router.get('/v1.1/rules/:ruleId', deps.requireBearer, async (req, res) => {
    const ruleId = ruleIdOf(req)
    res.json(toRuleView(await ruleOrNotFound(accountOf(req), ruleId)))
  })

  deps.openapi.add({
    method: 'put',
    path: '/v1.1/rules/{ruleId}',
    operationId: 'updateRule',
    summary: 'Update a rule (partial: a field given replaces the rule\'s)',
    description: `${accountNote} Changing the triggers or triggers_condition, or enabling the rule, re-arms it.`,
    tags,
    secured: true,
    pathParams: ruleIdPath,
    body: updateRuleBody,
    bodyMediaTypes: json,
    responses: { 200: { description: 'Updated', schema: successResponse } },
  })
  router.put('/v1.1/rules/:ruleId', deps.requireBearer, async (req, res) => {
    const ruleId = ruleIdOf(req)
    const body = parseInput(updateRuleBody, req.body)
    const result = await updateRule(body, accountOf(req), ruleId, deps.readStore, commandContextOf(deps, req))
    await deps.readYourWrites(result.position)
    res.json({ success: true })
  })

  deps.openapi.add({
    method: 'delete',
    path: '/v1.1/rules/{ruleId}',
    operationId: 'deleteRule',
    summary: 'Delete a rule (its history stays)',
    description: accountNote,
    tags,
    secured: true,
    pathParams: ruleIdPath,
    responses: { 200: { description: 'Deleted', schema: successResponse } },
  })
  router.delete('/v1.1/rules/:ruleId', deps.requireBearer, async (req, res) => {
    const ruleId = ruleIdOf(req)
    const result = await deleteRule(accountOf(req), ruleId, commandContextOf(deps, req))
    await deps.readYourWrites(result.position)
    res.json({ success: true })
  })

  deps.openapi.add({
    method: 'post',
    path: '/v1.1/rules/{ruleId}/simulate',
    operationId: 'simulateRule',
    summary: 'What the rule would have fired on the recorded readings (beyond the API text)',
    description:
      'The rule as it is now, evaluated as if enabled, starting armed, over the readings its trigger things recorded between `from` and `to`, with re-arming and cooldown. Nothing is written or sent.',
    tags,
    secured: true,
    pathParams: ruleIdPath,
    body: simulateRuleBody,
    bodyMediaTypes: json,
    responses: { 200: { description: 'Every fire it would have produced', schema: simulationResponse } },
  })
  router.post('/v1.1/rules/:ruleId/simulate', deps.requireBearer, async (req, res) => {
    const ruleId = ruleIdOf(req)
    const range = parseInput(simulateRuleBody, req.body)
    const document = await ruleOrNotFound(accountOf(req), ruleId)
    const rule = { ruleId, accountId: document.account_id, definition: document.definition }
    res.json(simulationView(await simulateRule(rule, range, deps.eventStore)))
  })

  return router
}
