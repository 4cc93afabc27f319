/**
 * POST /v1.1/deliveries/{id}/retry: a failed, dead-lettered or undeliverable delivery is
 * due again now. The attempt itself is the retry scheduler's (a side effect), never this
 * request's.
 */
import { deliveryDecider, deliveryStreamName, type RetryDelivery } from '../../domain/delivery/delivery.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'

export function retryDelivery(accountId: string, deliveryId: string, context: CommandContext) {
  const command: RetryDelivery = { type: 'RetryDelivery', data: { deliveryId, accountId } }
  return handleCommand(deliveryDecider, deliveryStreamName(deliveryId), command, context)
}
