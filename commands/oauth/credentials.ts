/**
 * Checks a user's e-mail and password, for the login form and the password grant, with
 * login throttling per e-mail address and per client address: five failures within
 * fifteen minutes lock both for fifteen minutes. The answers do not tell an unknown
 * address from a wrong password: both spend one password check, both count towards the
 * lock, both get the same message.
 */
import { isLockedOut, loginAttemptsDecider, loginAttemptsStreamName } from '../../domain/oauth/login-attempts.ts'
import { normalizeEmail } from '../../domain/user/email-claim.ts'
import { userDecider, userStreamName, type UserState } from '../../domain/user/user.ts'
import type { EventMetadata, EventStore } from '../event-store.ts'
import { handleCommand } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { Secrets } from '../secrets.ts'
import { userIdByEmail } from '../user/register-user.ts'

export type RegisteredUser = Extract<UserState, { status: 'registered' }>

export type LoginOutcome =
  | { readonly outcome: 'ok'; readonly user: RegisteredUser }
  | { readonly outcome: 'invalid' }
  | { readonly outcome: 'locked' }

export interface CredentialDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly secrets: Secrets
}

export const invalidCredentialsMessage = 'The e-mail address or the password is not right'
export const lockedOutMessage = 'Too many failed logins: try again in 15 minutes'

const keysOf = (secrets: Secrets, email: string, address: string): string[] => [
  `email-${secrets.hashToken(normalizeEmail(email))}`,
  `address-${address.replace(/[^0-9A-Za-z.:_-]/g, '_')}`,
]

export async function checkCredentials(
  email: string,
  password: string,
  address: string,
  deps: CredentialDeps,
  metadata: Omit<EventMetadata, 'time'>,
): Promise<LoginOutcome> {
  const keys = keysOf(deps.secrets, email, address)
  const now = deps.now()
  const attempts = await Promise.all(keys.map((key) => loadState(loginAttemptsDecider, loginAttemptsStreamName(key), deps.eventStore)))
  if (attempts.some((state) => isLockedOut(state, now))) {
    await deps.secrets.burnPasswordCheck(password)
    return { outcome: 'locked' }
  }

  const userId = await userIdByEmail(deps.eventStore, email)
  const user = userId ? await loadState(userDecider, userStreamName(userId), deps.eventStore) : null
  let ok = false
  if (user?.status === 'registered') ok = await deps.secrets.verifyPassword(password, user.passwordHash)
  else await deps.secrets.burnPasswordCheck(password)

  const context = { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata }
  let locked = false
  for (const key of keys) {
    const result = await handleCommand(
      loginAttemptsDecider,
      loginAttemptsStreamName(key),
      { type: ok ? 'RecordSuccessfulLogin' : 'RecordFailedLogin', data: { key } },
      context,
    )
    if (result.newEvents.some((event) => event.type === 'LoginLockedOut')) locked = true
  }
  if (ok && user?.status === 'registered') return { outcome: 'ok', user }
  return locked ? { outcome: 'locked' } : { outcome: 'invalid' }
}

export async function recordLogin(
  user: RegisteredUser,
  clientId: string | null,
  method: 'form' | 'password_grant',
  deps: CredentialDeps,
  metadata: Omit<EventMetadata, 'time'>,
) {
  return handleCommand(
    userDecider,
    userStreamName(user.userId),
    { type: 'RecordLogin', data: { userId: user.userId, clientId, method } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, actor: { type: 'user', id: user.userId }, account_id: user.accountId } },
  )
}
