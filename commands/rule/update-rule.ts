/** PUT /v1.1/rules/{rule_id}: a partial update; a list given replaces the rule's whole list. */
import type { z } from 'zod'
import { NotFoundError } from '../../domain/errors.ts'
import { ruleDecider, ruleStreamName, type UpdateRule } from '../../domain/rule/rule.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { ruleOfAccount } from '../../projections/rules.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { changesOf, checkThings } from './definition.ts'
import type { updateRuleBody } from './schemas.ts'

export async function updateRule(
  body: z.output<typeof updateRuleBody>,
  accountId: string,
  ruleId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  // A rule of another account is "not found" before any of its fields is judged.
  if (!(await ruleOfAccount(readStore, accountId, ruleId))) throw new NotFoundError(`Rule ${ruleId} not found`, 'rule_not_found')
  const changes = changesOf(body)
  await checkThings(readStore, accountId, changes)
  const command: UpdateRule = { type: 'UpdateRule', data: { ruleId, accountId, changes } }
  return handleCommand(ruleDecider, ruleStreamName(ruleId), command, context)
}
