/**
 * Checks a user's e-mail and password, for the login form and the password grant, with
 * login throttling (domain/oauth/login-attempts.ts): per (e-mail, client address) pair,
 * per client address, and per e-mail across addresses. An attempt is reserved on every
 * key before the password is checked, so parallel guesses cannot pass a threshold. The
 * answers do not tell an unknown address from a wrong password: both spend one password
 * check, both count, both get the same message.
 */
import {
  isLockedOut,
  isReserved,
  loginAttemptsDecider,
  loginAttemptsStreamName,
  type LoginAttemptCommand,
} from '../../domain/oauth/login-attempts.ts'
import { ConcurrencyError } from '../../domain/errors.ts'
import { normalizeEmail } from '../../domain/user/email-claim.ts'
import { userDecider, userStreamName, type UserState } from '../../domain/user/user.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand, type CommandContext } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
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

/** Most specific first: a burst from one address is stopped by its pair before it reaches the address's or the e-mail's count. */
const keysOf = (secrets: Secrets, email: string, address: string): string[] => {
  const normalized = normalizeEmail(email)
  return [
    `pair-${secrets.hashToken(`${normalized}\n${address}`)}`,
    `address-${address.replace(/[^0-9A-Za-z.:_-]/g, '_')}`,
    `email-${secrets.hashToken(normalized)}`,
  ]
}

/** Parallel attempts contend for the same streams: each append retries on the fresher stream this often. */
const reservationRetries = 100

async function recordOnKey(key: string, type: LoginAttemptCommand['type'], attemptId: string, context: CommandContext) {
  return handleCommand(loginAttemptsDecider, loginAttemptsStreamName(key), { type, data: { key, attemptId } }, context)
}

/** Reserves the attempt on every key, or on none that counts it: an attempt refused half way is a failure where it was reserved. */
async function reserve(keys: readonly string[], attemptId: string, context: CommandContext): Promise<boolean> {
  const reserved: string[] = []
  for (const key of keys) {
    let granted = false
    try {
      granted = isReserved((await recordOnKey(key, 'ReserveLoginAttempt', attemptId, context)).state, attemptId)
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error
    }
    if (!granted) {
      for (const earlier of reserved) await recordOnKey(earlier, 'RecordFailedLogin', attemptId, context)
      return false
    }
    reserved.push(key)
  }
  return true
}

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
  if (attempts.some((state) => isLockedOut(state, now))) return { outcome: 'locked' }

  const context: CommandContext = { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata, maxAttempts: reservationRetries }
  const attemptId = deps.newId()
  if (!(await reserve(keys, attemptId, context))) return { outcome: 'locked' }

  const userId = await userIdByEmail(deps.eventStore, email)
  const user = userId ? await loadState(userDecider, userStreamName(userId), deps.eventStore) : null
  let ok = false
  if (user?.status === 'registered') ok = await deps.secrets.verifyPassword(password, user.passwordHash)
  else await deps.secrets.burnPasswordCheck(password)

  let locked = false
  for (const key of keys) {
    const result = await recordOnKey(key, ok ? 'RecordSuccessfulLogin' : 'RecordFailedLogin', attemptId, context)
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
