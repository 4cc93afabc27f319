/**
 * Login throttling: five failed logins within fifteen minutes lock further logins for
 * fifteen minutes. One stream per e-mail address (`loginattempts-email-<hash>`, so an
 * unknown address locks exactly like a known one and reveals nothing) and one per
 * client address (`loginattempts-address-<ip>`). A success clears the count.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'

export const maxFailedLogins = 5
export const failureWindowMs = 15 * 60 * 1000
export const lockoutMs = 15 * 60 * 1000

export type LoginFailed = DomainEvent<'LoginFailed', { readonly key: string; readonly at: string }>
export type LoginLockedOut = DomainEvent<'LoginLockedOut', { readonly key: string; readonly at: string; readonly until: string }>
export type LoginSucceeded = DomainEvent<'LoginSucceeded', { readonly key: string; readonly at: string }>

export type LoginAttemptEvent = LoginFailed | LoginLockedOut | LoginSucceeded

export type RecordFailedLogin = Command<'RecordFailedLogin', { readonly key: string }>
export type RecordSuccessfulLogin = Command<'RecordSuccessfulLogin', { readonly key: string }>
export type LoginAttemptCommand = RecordFailedLogin | RecordSuccessfulLogin

export interface LoginAttemptsState {
  /** times of the failures since the last success or lockout */
  readonly failures: readonly string[]
  readonly lockedUntil: string | null
}

export const loginAttemptsStreamName = (key: string): string => `loginattempts-${key}`

export function isLockedOut(state: LoginAttemptsState, now: Date): boolean {
  return state.lockedUntil !== null && Date.parse(state.lockedUntil) > now.getTime()
}

export const loginAttemptsDecider: Decider<LoginAttemptsState, LoginAttemptCommand, LoginAttemptEvent> = {
  initialState: { failures: [], lockedUntil: null },

  decide(command, state, now) {
    const at = now.toISOString()
    switch (command.type) {
      case 'RecordFailedLogin': {
        // While locked, further failures change nothing: the lock is not extended.
        if (isLockedOut(state, now)) return []
        const recent = state.failures.filter((time) => now.getTime() - Date.parse(time) < failureWindowMs)
        const failed: LoginFailed = { type: 'LoginFailed', data: { key: command.data.key, at } }
        if (recent.length + 1 < maxFailedLogins) return [failed]
        return [failed, { type: 'LoginLockedOut', data: { key: command.data.key, at, until: new Date(now.getTime() + lockoutMs).toISOString() } }]
      }
      case 'RecordSuccessfulLogin':
        if (state.failures.length === 0) return []
        return [{ type: 'LoginSucceeded', data: { key: command.data.key, at } }]
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'LoginFailed':
        return { ...state, failures: [...state.failures, event.data.at] }
      case 'LoginLockedOut':
        return { failures: [], lockedUntil: event.data.until }
      case 'LoginSucceeded':
        return { ...state, failures: [] }
      default:
        return unreachable(event)
    }
  },
}
