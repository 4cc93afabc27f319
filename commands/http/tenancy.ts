/**
 * Which account a request acts for: the token's own. A token with the management role
 * may name another with `account_id` (query or body); any other token naming a foreign
 * account is refused, so a typo cannot silently act on the caller's own account instead.
 */
import type { Request } from 'express'
import { ForbiddenError } from '../../domain/errors.ts'
import { principalOf } from './auth.ts'

export function accountOf(req: Request): string {
  const principal = principalOf(req)
  const fromQuery = typeof req.query.account_id === 'string' ? req.query.account_id : undefined
  const body: unknown = req.body
  const fromBody =
    body !== null && typeof body === 'object' && typeof (body as { account_id?: unknown }).account_id === 'string'
      ? (body as { account_id: string }).account_id
      : undefined
  const named = (fromQuery ?? fromBody)?.trim()
  if (!named || named === principal.accountId) return principal.accountId
  if (!principal.roles.includes('management')) {
    throw new ForbiddenError('Only a management token may act for another account (account_id)', 'account_forbidden')
  }
  return named
}
