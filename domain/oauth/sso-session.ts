/**
 * Single sign-on sessions: a login at the authorization server starts one; its cookie
 * (`<sessionId>.<secret>`, only the hash recorded) lets later authorize steps for any
 * application skip the login form for one week. Stream `session-<sessionId>`. A logout
 * ends it; a password change ends it too (the user's credentials version moves on).
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'

export const ssoSessionTtlMs = 7 * 24 * 60 * 60 * 1000

export type SsoSessionStarted = DomainEvent<
  'SsoSessionStarted',
  {
    readonly sessionId: string
    readonly userId: string
    readonly secretHash: string
    readonly credentialsVersion: number
    readonly startedAt: string
    readonly expiresAt: string
  }
>

export type SsoSessionEnded = DomainEvent<
  'SsoSessionEnded',
  { readonly sessionId: string; readonly reason: 'logout'; readonly endedAt: string }
>

export type SsoSessionEvent = SsoSessionStarted | SsoSessionEnded

export type StartSsoSession = Command<
  'StartSsoSession',
  { readonly sessionId: string; readonly userId: string; readonly secretHash: string; readonly credentialsVersion: number }
>

export type EndSsoSession = Command<'EndSsoSession', { readonly sessionId: string; readonly secretHash: string }>

export type SsoSessionCommand = StartSsoSession | EndSsoSession

export type SsoSessionState =
  | { readonly status: 'none' }
  | {
      readonly status: 'active' | 'ended'
      readonly sessionId: string
      readonly userId: string
      readonly secretHash: string
      readonly credentialsVersion: number
      readonly expiresAt: string
    }

export const ssoSessionStreamName = (sessionId: string): string => `session-${sessionId}`

/** The user a cookie stands for, or null when it stands for nobody (any more). */
export function sessionUser(state: SsoSessionState, secretHash: string, credentialsVersion: (userId: string) => number | null, now: Date): string | null {
  if (state.status !== 'active' || state.secretHash !== secretHash) return null
  if (Date.parse(state.expiresAt) <= now.getTime()) return null
  return credentialsVersion(state.userId) === state.credentialsVersion ? state.userId : null
}

export const ssoSessionDecider: Decider<SsoSessionState, SsoSessionCommand, SsoSessionEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    switch (command.type) {
      case 'StartSsoSession':
        if (state.status !== 'none') return []
        return [
          {
            type: 'SsoSessionStarted',
            data: { ...command.data, startedAt: now.toISOString(), expiresAt: new Date(now.getTime() + ssoSessionTtlMs).toISOString() },
          },
        ]
      case 'EndSsoSession':
        if (state.status !== 'active' || state.secretHash !== command.data.secretHash) return []
        return [{ type: 'SsoSessionEnded', data: { sessionId: state.sessionId, reason: 'logout', endedAt: now.toISOString() } }]
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'SsoSessionStarted':
        return {
          status: 'active',
          sessionId: event.data.sessionId,
          userId: event.data.userId,
          secretHash: event.data.secretHash,
          credentialsVersion: event.data.credentialsVersion,
          expiresAt: event.data.expiresAt,
        }
      case 'SsoSessionEnded':
        if (state.status === 'none') return state
        return { ...state, status: 'ended' }
      default:
        return unreachable(event)
    }
  },
}
