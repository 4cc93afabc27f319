/** POST /v1.1/rules: a rule of the account, watching and commanding things of the same account. */
import type { z } from 'zod'
import { ruleDecider, ruleStreamName, type CreateRule } from '../../domain/rule/rule.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { checkThings, definitionOf } from './definition.ts'
import type { createRuleBody } from './schemas.ts'

export async function createRule(
  body: z.output<typeof createRuleBody>,
  accountId: string,
  ruleId: string,
  readStore: ReadStore,
  context: CommandContext,
) {
  const definition = definitionOf(body)
  await checkThings(readStore, accountId, definition)
  const command: CreateRule = { type: 'CreateRule', data: { ruleId, accountId, definition } }
  return handleCommand(ruleDecider, ruleStreamName(ruleId), command, context)
}
