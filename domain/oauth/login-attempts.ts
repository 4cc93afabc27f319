/**
 * Login throttling, one stream per key (`loginattempts-<key>`), three kinds of key:
 *
 * - `pair-<hash of e-mail and client address>`: 5 failures within 15 minutes lock that
 *   e-mail from that address for 15 minutes. A guesser locks only themself out; the owner,
 *   from their own address, still logs in.
 * - `address-<ip>`: 20 failures within 15 minutes, whatever the e-mails, lock the address
 *   for 15 minutes. A success never clears it (guessing at victims between logins to one's
 *   own account still adds up).
 * - `email-<hash>`: the slower, higher global threshold, 50 failures within an hour from
 *   any addresses, locks the e-mail for 15 minutes: a distributed guessing run stops there
 *   (OWASP ASVS 2.2.1: no more than 100 failed attempts per hour on one account), while
 *   one address alone (5 per 15 minutes on that e-mail) can never reach it.
 *
 * An unknown e-mail counts exactly like a known one, so a lock reveals nothing. An attempt
 * is reserved before the password is checked (`LoginAttemptStarted`) and counts as a
 * failure until its outcome is recorded, so parallel guesses cannot pass the threshold;
 * one whose outcome never comes (a crash) stays a failure until it leaves the window.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'

export type LoginThrottleScope = 'pair' | 'address' | 'email'

export interface LoginThrottlePolicy {
  readonly maxFailures: number
  readonly windowMs: number
  readonly lockoutMs: number
  /** a success clears the failures counted so far */
  readonly clearedBySuccess: boolean
}

const minutes = (n: number): number => n * 60 * 1000

export const loginThrottlePolicies: Readonly<Record<LoginThrottleScope, LoginThrottlePolicy>> = {
  pair: { maxFailures: 5, windowMs: minutes(15), lockoutMs: minutes(15), clearedBySuccess: true },
  address: { maxFailures: 20, windowMs: minutes(15), lockoutMs: minutes(15), clearedBySuccess: false },
  email: { maxFailures: 50, windowMs: minutes(60), lockoutMs: minutes(15), clearedBySuccess: true },
}

/** The key's scope is its prefix. */
export function scopeOfKey(key: string): LoginThrottleScope {
  if (key.startsWith('pair-')) return 'pair'
  if (key.startsWith('address-')) return 'address'
  return 'email'
}

export type LoginAttemptStarted = DomainEvent<'LoginAttemptStarted', { readonly key: string; readonly attemptId: string; readonly at: string }>
/** `attemptId` is absent on events written before attempts were reserved. */
export type LoginFailed = DomainEvent<'LoginFailed', { readonly key: string; readonly at: string; readonly attemptId?: string }>
export type LoginLockedOut = DomainEvent<'LoginLockedOut', { readonly key: string; readonly at: string; readonly until: string }>
export type LoginSucceeded = DomainEvent<'LoginSucceeded', { readonly key: string; readonly at: string; readonly attemptId?: string }>

export type LoginAttemptEvent = LoginAttemptStarted | LoginFailed | LoginLockedOut | LoginSucceeded

export type ReserveLoginAttempt = Command<'ReserveLoginAttempt', { readonly key: string; readonly attemptId: string }>
export type RecordFailedLogin = Command<'RecordFailedLogin', { readonly key: string; readonly attemptId: string }>
export type RecordSuccessfulLogin = Command<'RecordSuccessfulLogin', { readonly key: string; readonly attemptId: string }>
export type LoginAttemptCommand = ReserveLoginAttempt | RecordFailedLogin | RecordSuccessfulLogin

export interface LoginAttemptsState {
  /** times of the failures since the last success (where it clears) or lockout */
  readonly failures: readonly string[]
  /** attempts reserved whose outcome is not recorded yet */
  readonly pending: readonly { readonly attemptId: string; readonly at: string }[]
  readonly lockedUntil: string | null
}

export const loginAttemptsStreamName = (key: string): string => `loginattempts-${key}`

export function isLockedOut(state: LoginAttemptsState, now: Date): boolean {
  return state.lockedUntil !== null && Date.parse(state.lockedUntil) > now.getTime()
}

export function isReserved(state: LoginAttemptsState, attemptId: string): boolean {
  return state.pending.some((attempt) => attempt.attemptId === attemptId)
}

const within = (policy: LoginThrottlePolicy, now: Date) => (time: string) => now.getTime() - Date.parse(time) < policy.windowMs

export const loginAttemptsDecider: Decider<LoginAttemptsState, LoginAttemptCommand, LoginAttemptEvent> = {
  initialState: { failures: [], pending: [], lockedUntil: null },

  decide(command, state, now) {
    const at = now.toISOString()
    const { key, attemptId } = command.data
    const policy = loginThrottlePolicies[scopeOfKey(key)]
    switch (command.type) {
      case 'ReserveLoginAttempt': {
        // Refused (nothing recorded) while locked, or when the attempts in flight would pass the threshold.
        if (isLockedOut(state, now) || isReserved(state, attemptId)) return []
        const counted = state.failures.filter(within(policy, now)).length + state.pending.filter((p) => within(policy, now)(p.at)).length
        if (counted >= policy.maxFailures) return []
        return [{ type: 'LoginAttemptStarted', data: { key, attemptId, at } }]
      }
      case 'RecordFailedLogin': {
        const failed: LoginFailed = { type: 'LoginFailed', data: { key, at, attemptId } }
        // While locked, a failure only settles its reservation: the lock is not extended.
        if (isLockedOut(state, now)) return isReserved(state, attemptId) ? [failed] : []
        const recent = state.failures.filter(within(policy, now)).length + 1
        if (recent < policy.maxFailures) return [failed]
        return [failed, { type: 'LoginLockedOut', data: { key, at, until: new Date(now.getTime() + policy.lockoutMs).toISOString() } }]
      }
      case 'RecordSuccessfulLogin':
        if (!isReserved(state, attemptId) && (state.failures.length === 0 || !policy.clearedBySuccess)) return []
        return [{ type: 'LoginSucceeded', data: { key, at, attemptId } }]
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    const settled = (attemptId: string | undefined) => state.pending.filter((attempt) => attempt.attemptId !== attemptId)
    switch (event.type) {
      case 'LoginAttemptStarted':
        return { ...state, pending: [...state.pending, { attemptId: event.data.attemptId, at: event.data.at }] }
      case 'LoginFailed': {
        const duringLock = state.lockedUntil !== null && Date.parse(event.data.at) < Date.parse(state.lockedUntil)
        return { ...state, pending: settled(event.data.attemptId), failures: duringLock ? state.failures : [...state.failures, event.data.at] }
      }
      case 'LoginLockedOut':
        return { ...state, failures: [], lockedUntil: event.data.until }
      case 'LoginSucceeded': {
        // Events from before reservations cleared every key's count.
        const clears = event.data.attemptId === undefined || loginThrottlePolicies[scopeOfKey(event.data.key)].clearedBySuccess
        return { ...state, pending: settled(event.data.attemptId), failures: clears ? [] : state.failures }
      }
      default:
        return unreachable(event)
    }
  },
}
