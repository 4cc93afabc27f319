/** The rule endpoints of the platform API, and the what-if simulation (beyond the API text). */
import { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import type { WhatIf } from '../../domain/rule/what-if.ts'
import { ruleOfAccount, rulesOfAccount, toRuleView } from '../../projections/rules.ts'
import { endpoint, uuidParam, type Endpoint } from '../http/endpoint.ts'
import { accountOf } from '../http/tenancy.ts'
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

const notFound = (id: string) => new NotFoundError(`Rule ${id} not found`, 'rule_not_found')

export function ruleEndpoints(deps: RouteDeps): Endpoint[] {
  const tags = ['Rules']
  const ruleOrNotFound = async (accountId: string, ruleId: string) => {
    const document = await ruleOfAccount(deps.readStore, accountId, ruleId)
    if (!document) throw notFound(ruleId)
    return document
  }
  const params = { ruleId: uuidParam('rule id (UUID)', notFound) }
  const accountNote = 'A management application may name the account with `account_id`.'
  const json = ['application/json']

  return [
    endpoint({
      method: 'post',
      path: '/v1.1/rules',
      operationId: 'createRule',
      summary: 'Create a rule',
      description: `${accountNote} Every trigger and action must name a thing of the account.`,
      tags,
      auth: 'bearer',
      body: createRuleBody,
      bodyMediaTypes: json,
      responses: { 200: { description: 'The new rule\'s id', schema: ruleCreatedResponse } },
      async handle({ req, body, context }) {
        const ruleId = deps.newId()
        const result = await createRule(body, accountOf(req), ruleId, deps.readStore, context())
        return { body: { id: ruleId }, position: result.position }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/rules',
      operationId: 'listRules',
      summary: 'The account\'s rules',
      description: accountNote,
      tags,
      auth: 'bearer',
      responses: { 200: { description: 'Rules, oldest first', schema: z.array(ruleResponse) } },
      async handle({ req }) {
        return { body: (await rulesOfAccount(deps.readStore, accountOf(req))).map(toRuleView) }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/rules/simulate',
      operationId: 'simulateDraftRule',
      summary: 'What a draft rule would have fired on the recorded readings (beyond the API text)',
      description:
        'The rule (the fields of POST /v1.1/rules, nothing saved) is evaluated as if enabled, starting armed, over the readings its trigger things recorded between `from` and `to`, with re-arming and cooldown. Nothing is written or sent.',
      tags,
      auth: 'bearer',
      body: simulateDraftBody,
      bodyMediaTypes: json,
      responses: { 200: { description: 'Every fire it would have produced', schema: simulationResponse } },
      async handle({ req, body: { from, to, ...draft } }) {
        const accountId = accountOf(req)
        const definition = definitionOf(draft)
        await checkThings(deps.readStore, accountId, definition)
        return { body: simulationView(await simulateRule({ ruleId: 'draft', accountId, definition }, { from, to }, deps.eventStore)) }
      },
    }),
    endpoint({
      method: 'get',
      path: '/v1.1/rules/{ruleId}',
      operationId: 'getRule',
      summary: 'A rule',
      description: accountNote,
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'The rule', schema: ruleResponse } },
      async handle({ req, params }) {
        return { body: toRuleView(await ruleOrNotFound(accountOf(req), params.ruleId)) }
      },
    }),
    endpoint({
      method: 'put',
      path: '/v1.1/rules/{ruleId}',
      operationId: 'updateRule',
      summary: 'Update a rule (partial: a field given replaces the rule\'s)',
      description: `${accountNote} Changing the triggers or triggers_condition, or enabling the rule, re-arms it.`,
      tags,
      auth: 'bearer',
      params,
      body: updateRuleBody,
      bodyMediaTypes: json,
      responses: { 200: { description: 'Updated', schema: successResponse } },
      async handle({ req, params, body, context }) {
        const result = await updateRule(body, accountOf(req), params.ruleId, deps.readStore, context())
        return { body: { success: true }, position: result.position }
      },
    }),
    endpoint({
      method: 'delete',
      path: '/v1.1/rules/{ruleId}',
      operationId: 'deleteRule',
      summary: 'Delete a rule (its history stays)',
      description: accountNote,
      tags,
      auth: 'bearer',
      params,
      responses: { 200: { description: 'Deleted', schema: successResponse } },
      async handle({ req, params, context }) {
        const result = await deleteRule(accountOf(req), params.ruleId, context())
        return { body: { success: true }, position: result.position }
      },
    }),
    endpoint({
      method: 'post',
      path: '/v1.1/rules/{ruleId}/simulate',
      operationId: 'simulateRule',
      summary: 'What the rule would have fired on the recorded readings (beyond the API text)',
      description:
        'The rule as it is now, evaluated as if enabled, starting armed, over the readings its trigger things recorded between `from` and `to`, with re-arming and cooldown. Nothing is written or sent.',
      tags,
      auth: 'bearer',
      params,
      body: simulateRuleBody,
      bodyMediaTypes: json,
      responses: { 200: { description: 'Every fire it would have produced', schema: simulationResponse } },
      async handle({ req, params, body: range }) {
        const document = await ruleOrNotFound(accountOf(req), params.ruleId)
        const rule = { ruleId: params.ruleId, accountId: document.account_id, definition: document.definition }
        return { body: simulationView(await simulateRule(rule, range, deps.eventStore)) }
      },
    }),
  ]
}
