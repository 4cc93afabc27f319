/**
 * Refresh tokens (RFC 6749 6, OAuth 2.0 Security BCP 4.14): opaque, stored hashed,
 * rotated on every use. All the tokens descending from one grant form a family (stream
 * `refreshfamily-<familyId>`; the token is `<familyId>.<secret>`). Presenting a token
 * that was already rotated away means it leaked: the whole family is revoked.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'

/** Each token of a family is good this long after it was issued. */
export const refreshTokenTtlMs = 30 * 24 * 60 * 60 * 1000

export interface RefreshGrant {
  readonly familyId: string
  readonly clientId: string
  /** null for an application acting for itself */
  readonly userId: string | null
  readonly accountId: string
  readonly scope: readonly string[]
  /** the user's credentials version when the family began; a password change ends it */
  readonly credentialsVersion: number
}

export type RefreshTokenIssued = DomainEvent<
  'RefreshTokenIssued',
  RefreshGrant & { readonly tokenHash: string; readonly issuedAt: string; readonly expiresAt: string }
>

export type RefreshTokenRotated = DomainEvent<
  'RefreshTokenRotated',
  { readonly familyId: string; readonly previousHash: string; readonly tokenHash: string; readonly rotatedAt: string; readonly expiresAt: string }
>

export type RefreshTokenFamilyRevoked = DomainEvent<
  'RefreshTokenFamilyRevoked',
  {
    readonly familyId: string
    readonly reason: 'reuse' | 'revoked' | 'code_replayed' | 'credentials_changed'
    readonly revokedAt: string
  }
>

export type RefreshTokenEvent = RefreshTokenIssued | RefreshTokenRotated | RefreshTokenFamilyRevoked

export type StartRefreshFamily = Command<'StartRefreshFamily', RefreshGrant & { readonly tokenHash: string }>

export type RotateRefreshToken = Command<
  'RotateRefreshToken',
  {
    readonly familyId: string
    readonly presentedHash: string
    readonly newHash: string
    readonly clientId: string
    /** the user's current credentials version (null for an application's own family) */
    readonly credentialsVersion: number | null
  }
>

export type RevokeRefreshFamily = Command<
  'RevokeRefreshFamily',
  {
    readonly familyId: string
    readonly reason: RefreshTokenFamilyRevoked['data']['reason']
    /** when set, only a holder of this token (or its client) may revoke */
    readonly presentedHash?: string
    readonly clientId?: string
  }
>

export type RefreshTokenCommand = StartRefreshFamily | RotateRefreshToken | RevokeRefreshFamily

export type RefreshTokenState =
  | { readonly status: 'none' }
  | (RefreshGrant & {
      readonly status: 'active' | 'revoked'
      readonly currentHash: string
      readonly expiresAt: string
      readonly previousHashes: readonly string[]
    })

export const refreshFamilyStreamName = (familyId: string): string => `refreshfamily-${familyId}`

/** Why a presented refresh token does not get new tokens; null when it does. */
export function refreshProblem(state: RefreshTokenState, presentedHash: string, clientId: string, now: Date): string | null {
  if (state.status === 'none') return 'unknown refresh token'
  if (state.status === 'revoked') return 'the refresh token was revoked'
  if (state.clientId !== clientId) return 'the refresh token was issued to another client'
  if (state.previousHashes.includes(presentedHash)) return 'the refresh token was already used; its family is revoked'
  if (state.currentHash !== presentedHash) return 'unknown refresh token'
  if (Date.parse(state.expiresAt) <= now.getTime()) return 'the refresh token has expired'
  return null
}

export const refreshTokenDecider: Decider<RefreshTokenState, RefreshTokenCommand, RefreshTokenEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    const at = now.toISOString()
    const revoke = (familyId: string, reason: RefreshTokenFamilyRevoked['data']['reason']): RefreshTokenFamilyRevoked => ({
      type: 'RefreshTokenFamilyRevoked',
      data: { familyId, reason, revokedAt: at },
    })
    switch (command.type) {
      case 'StartRefreshFamily':
        if (state.status !== 'none') return []
        return [
          {
            type: 'RefreshTokenIssued',
            data: { ...command.data, issuedAt: at, expiresAt: new Date(now.getTime() + refreshTokenTtlMs).toISOString() },
          },
        ]
      case 'RotateRefreshToken': {
        if (state.status !== 'active' || state.clientId !== command.data.clientId) return []
        if (state.previousHashes.includes(command.data.presentedHash)) return [revoke(state.familyId, 'reuse')]
        if (state.currentHash !== command.data.presentedHash) return []
        if (command.data.credentialsVersion !== null && command.data.credentialsVersion !== state.credentialsVersion) {
          return [revoke(state.familyId, 'credentials_changed')]
        }
        if (Date.parse(state.expiresAt) <= now.getTime()) return []
        return [
          {
            type: 'RefreshTokenRotated',
            data: {
              familyId: state.familyId,
              previousHash: state.currentHash,
              tokenHash: command.data.newHash,
              rotatedAt: at,
              expiresAt: new Date(now.getTime() + refreshTokenTtlMs).toISOString(),
            },
          },
        ]
      }
      case 'RevokeRefreshFamily': {
        if (state.status !== 'active') return []
        if (command.data.clientId !== undefined && command.data.clientId !== state.clientId) return []
        if (
          command.data.presentedHash !== undefined &&
          command.data.presentedHash !== state.currentHash &&
          !state.previousHashes.includes(command.data.presentedHash)
        ) {
          return []
        }
        return [revoke(state.familyId, command.data.reason)]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'RefreshTokenIssued': {
        const { tokenHash, issuedAt: _issuedAt, expiresAt, ...grant } = event.data
        return { ...grant, status: 'active', currentHash: tokenHash, expiresAt, previousHashes: [] }
      }
      case 'RefreshTokenRotated':
        if (state.status === 'none') return state
        return {
          ...state,
          currentHash: event.data.tokenHash,
          expiresAt: event.data.expiresAt,
          previousHashes: [...state.previousHashes, event.data.previousHash],
        }
      case 'RefreshTokenFamilyRevoked':
        if (state.status === 'none') return state
        return { ...state, status: 'revoked' }
      default:
        return unreachable(event)
    }
  },
}
