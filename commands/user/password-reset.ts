/**
 * Password reset: a request records PasswordResetRequested with the hash of a token
 * (the mail reactor sends the token itself); the token is good once, for an hour. The
 * token is `<userId>.<resetId>.<mac>`: the mac is derived from the server key and the
 * two ids, so the reactor can recompute it and no event ever holds it.
 */
import { userDecider, userStreamName } from '../../domain/user/user.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
import { loadUser, userIdByEmail } from './register-user.ts'

export interface ResetDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly secrets: Secrets
}

export const resetTokenPurpose = 'password-reset'

export function resetTokenFor(secrets: Secrets, userId: string, resetId: string): string {
  return `${userId}.${resetId}.${secrets.deriveToken(resetTokenPurpose, `${userId}.${resetId}`)}`
}

export interface ResetRequested {
  readonly userId: string
  readonly firstName: string
  readonly lastName: string
  readonly email: string
  readonly token: string
}

/** Null when no user has this address (the caller answers the same either way). */
export async function requestPasswordReset(
  email: string,
  deps: ResetDeps,
  metadata: Omit<EventMetadata, 'time'>,
): Promise<ResetRequested | null> {
  const userId = await userIdByEmail(deps.eventStore, email)
  const resetId = deps.newId()
  if (userId === null) {
    // Spend about the same effort as a real request.
    deps.secrets.hashToken(resetTokenFor(deps.secrets, resetId, resetId))
    return null
  }
  const user = await loadUser(deps.eventStore, userId)
  if (user.status !== 'registered') return null
  const token = resetTokenFor(deps.secrets, userId, resetId)
  await handleCommand(
    userDecider,
    userStreamName(userId),
    { type: 'RequestPasswordReset', data: { userId, resetId, tokenHash: deps.secrets.hashToken(token) } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: user.accountId } },
  )
  return { userId, firstName: user.profile.firstName, lastName: user.profile.lastName, email: user.email, token }
}

/** Sets the new password; throws ValidationError (field `token`) when the token is no good. */
export async function resetPassword(token: string, password: string, deps: ResetDeps, metadata: Omit<EventMetadata, 'time'>) {
  const userId = /^([0-9a-f-]{36})\.[0-9a-f-]{36}\.[A-Za-z0-9_-]+$/.exec(token)?.[1] ?? '00000000-0000-0000-0000-000000000000'
  const passwordHash = await deps.secrets.hashPassword(password)
  return handleCommand(
    userDecider,
    userStreamName(userId),
    { type: 'ResetPassword', data: { userId, tokenHash: deps.secrets.hashToken(token), passwordHash } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, actor: { type: 'user', id: userId } } },
  )
}
