/** DELETE /v1.1/rules/{rule_id}: the rule stops; its history (and its fires) stay. */
import { ruleDecider, ruleStreamName, type DeleteRule } from '../../domain/rule/rule.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'

export function deleteRule(accountId: string, ruleId: string, context: CommandContext) {
  const command: DeleteRule = { type: 'DeleteRule', data: { ruleId, accountId } }
  return handleCommand(ruleDecider, ruleStreamName(ruleId), command, context)
}
