/**
 * Authorization codes (RFC 6749 4.1): single use, ten minutes, bound to the client and
 * the redirect URI, optionally to a PKCE challenge (RFC 7636). Stream
 * `authcode-<codeId>`; the code handed out is `<codeId>.<secret>` and only the hash of
 * the whole code is recorded. A second redemption is a replay: it is refused and the
 * tokens the first one produced are revoked (RFC 6749 4.1.2).
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'

export const authorizationCodeTtlMs = 10 * 60 * 1000

export interface CodeGrant {
  readonly codeId: string
  readonly codeHash: string
  readonly clientId: string
  readonly redirectUri: string
  readonly userId: string
  readonly accountId: string
  readonly scope: readonly string[]
  readonly codeChallenge: string | null
  readonly codeChallengeMethod: 'S256' | 'plain' | null
  readonly credentialsVersion: number
}

export type AuthorizationCodeIssued = DomainEvent<
  'AuthorizationCodeIssued',
  CodeGrant & { readonly issuedAt: string; readonly expiresAt: string }
>

export type AuthorizationCodeRedeemed = DomainEvent<
  'AuthorizationCodeRedeemed',
  { readonly codeId: string; readonly familyId: string; readonly redeemedAt: string }
>

export type AuthorizationCodeReplayed = DomainEvent<
  'AuthorizationCodeReplayed',
  { readonly codeId: string; readonly familyId: string; readonly at: string }
>

export type AuthorizationCodeEvent = AuthorizationCodeIssued | AuthorizationCodeRedeemed | AuthorizationCodeReplayed

export type IssueAuthorizationCode = Command<'IssueAuthorizationCode', CodeGrant>

/**
 * The exchange's checks are made by the caller against the decided state (see
 * `redemptionProblem`); the decider records the outcome: redeemed, or a replay.
 */
export type RedeemAuthorizationCode = Command<
  'RedeemAuthorizationCode',
  { readonly codeId: string; readonly codeHash: string; readonly familyId: string }
>

export type AuthorizationCodeCommand = IssueAuthorizationCode | RedeemAuthorizationCode

export type AuthorizationCodeState =
  | { readonly status: 'none' }
  | (CodeGrant & {
      readonly status: 'issued' | 'redeemed'
      readonly expiresAt: string
      readonly familyId: string | null
      readonly replayed: boolean
    })

export const authorizationCodeStreamName = (codeId: string): string => `authcode-${codeId}`

export const authorizationCodeDecider: Decider<AuthorizationCodeState, AuthorizationCodeCommand, AuthorizationCodeEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    switch (command.type) {
      case 'IssueAuthorizationCode':
        if (state.status !== 'none') return []
        return [
          {
            type: 'AuthorizationCodeIssued',
            data: { ...command.data, issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + authorizationCodeTtlMs).toISOString() },
          },
        ]
      case 'RedeemAuthorizationCode': {
        if (state.status === 'none' || state.codeHash !== command.data.codeHash) return []
        if (state.status === 'redeemed') {
          if (state.replayed || state.familyId === null) return []
          return [{ type: 'AuthorizationCodeReplayed', data: { codeId: state.codeId, familyId: state.familyId, at: now.toISOString() } }]
        }
        if (Date.parse(state.expiresAt) <= now.getTime()) return []
        return [
          {
            type: 'AuthorizationCodeRedeemed',
            data: { codeId: state.codeId, familyId: command.data.familyId, redeemedAt: now.toISOString() },
          },
        ]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'AuthorizationCodeIssued': {
        const { issuedAt: _issuedAt, ...grant } = event.data
        return { ...grant, status: 'issued', familyId: null, replayed: false }
      }
      case 'AuthorizationCodeRedeemed':
        if (state.status === 'none') return state
        return { ...state, status: 'redeemed', familyId: event.data.familyId }
      case 'AuthorizationCodeReplayed':
        if (state.status === 'none') return state
        return { ...state, replayed: true }
      default:
        return unreachable(event)
    }
  },
}
