/**
 * Issuing tokens: a one-hour RS256 access token (sub, account_id, client_id, scope,
 * roles, jti), and for a user an opaque refresh token that starts a family (see
 * domain/oauth/refresh-token-family.ts). An application acting for itself (client
 * credentials) gets no refresh token (RFC 6749 4.4.3).
 */
import type { ExistingApplication } from '../../domain/application/application.ts'
import { refreshFamilyStreamName, refreshProblem, refreshTokenDecider } from '../../domain/oauth/refresh-token-family.ts'
import { userDecider, userStreamName } from '../../domain/user/user.ts'
import type { AccessTokenIssuer } from '../auth-deps.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { Role } from '../http/auth.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
import type { RegisteredUser } from './credentials.ts'

export interface TokenDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly secrets: Secrets
  readonly accessTokens: AccessTokenIssuer
}

export interface IssuedTokens {
  readonly accessToken: string
  readonly refreshToken: string | null
  readonly expiresIn: number
  readonly scope: readonly string[]
}

/** Raised for a refresh token that gets nothing; the message says why (RFC 6749 invalid_grant). */
export class InvalidGrant extends Error {}

const rolesOf = (user: RegisteredUser): Role[] => (user.admin ? ['admin'] : [])

export function userAccessToken(user: RegisteredUser, clientId: string, scope: readonly string[], deps: Pick<TokenDeps, 'accessTokens'>) {
  return deps.accessTokens.issue({
    sub: user.userId,
    account_id: user.accountId,
    client_id: clientId,
    user_id: user.userId,
    roles: rolesOf(user),
    ...(scope.length ? { scope: scope.join(' ') } : {}),
  })
}

/** Splits `<id>.<secret>` tokens; null when the shape is wrong. */
export function splitToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string') return null
  const match = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{20,200})$/.exec(token)
  return match ? { id: match[1]!, secret: match[2]! } : null
}

export async function issueUserTokens(
  user: RegisteredUser,
  client: ExistingApplication,
  scope: readonly string[],
  options: { refresh: boolean },
  deps: TokenDeps,
  metadata: Omit<EventMetadata, 'time'>,
): Promise<IssuedTokens & { familyId: string | null }> {
  const access = userAccessToken(user, client.applicationId, scope, deps)
  if (!options.refresh) return { accessToken: access.token, refreshToken: null, expiresIn: access.expiresIn, scope, familyId: null }
  const familyId = deps.newId()
  const refreshToken = `${familyId}.${deps.secrets.randomToken()}`
  await handleCommand(
    refreshTokenDecider,
    refreshFamilyStreamName(familyId),
    {
      type: 'StartRefreshFamily',
      data: {
        familyId,
        clientId: client.applicationId,
        userId: user.userId,
        accountId: user.accountId,
        scope,
        credentialsVersion: user.credentialsVersion,
        tokenHash: deps.secrets.hashToken(refreshToken),
      },
    },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: user.accountId } },
  )
  return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, scope, familyId }
}

/** The refresh grant: rotates the token; a reused one revokes its family. */
export async function refreshTokens(
  presented: string,
  client: ExistingApplication,
  deps: TokenDeps,
  metadata: Omit<EventMetadata, 'time'>,
): Promise<IssuedTokens> {
  const parts = splitToken(presented)
  if (!parts) throw new InvalidGrant('unknown refresh token')
  const stream = refreshFamilyStreamName(parts.id)
  const family = await loadState(refreshTokenDecider, stream, deps.eventStore)
  if (family.status === 'none' || family.userId === null) throw new InvalidGrant('unknown refresh token')
  const user = await loadState(userDecider, userStreamName(family.userId), deps.eventStore)
  const presentedHash = deps.secrets.hashToken(presented)
  const newToken = `${parts.id}.${deps.secrets.randomToken()}`
  const result = await handleCommand(
    refreshTokenDecider,
    stream,
    {
      type: 'RotateRefreshToken',
      data: {
        familyId: parts.id,
        presentedHash,
        newHash: deps.secrets.hashToken(newToken),
        clientId: client.applicationId,
        credentialsVersion: user.status === 'registered' ? user.credentialsVersion : -1,
      },
    },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: family.accountId } },
  )
  const rotated = result.newEvents.some((event) => event.type === 'RefreshTokenRotated')
  if (!rotated || user.status !== 'registered') {
    const revoked = result.newEvents.find((event) => event.type === 'RefreshTokenFamilyRevoked')
    if (revoked?.type === 'RefreshTokenFamilyRevoked') {
      throw new InvalidGrant(revoked.data.reason === 'reuse' ? 'the refresh token was already used; its family is revoked' : 'the refresh token was revoked')
    }
    throw new InvalidGrant(refreshProblem(result.state, presentedHash, client.applicationId, deps.now()) ?? 'the refresh token is no longer valid')
  }
  const access = userAccessToken(user, client.applicationId, family.scope, deps)
  return { accessToken: access.token, refreshToken: newToken, expiresIn: access.expiresIn, scope: family.scope }
}

/** RFC 7009: revokes the family of a refresh token the client holds; anything else is quietly ignored. */
export async function revokeToken(token: unknown, clientId: string, deps: TokenDeps, metadata: Omit<EventMetadata, 'time'>): Promise<void> {
  const parts = splitToken(token)
  if (!parts || typeof token !== 'string') return
  const stream = refreshFamilyStreamName(parts.id)
  const family = await loadState(refreshTokenDecider, stream, deps.eventStore)
  if (family.status !== 'active') return
  await handleCommand(
    refreshTokenDecider,
    stream,
    { type: 'RevokeRefreshFamily', data: { familyId: parts.id, reason: 'revoked', presentedHash: deps.secrets.hashToken(token), clientId } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: family.accountId } },
  )
}

/** Revokes a family for a reason of the server's own (a replayed authorization code). */
export async function revokeFamily(familyId: string, reason: 'code_replayed', deps: TokenDeps, metadata: Omit<EventMetadata, 'time'>) {
  await handleCommand(
    refreshTokenDecider,
    refreshFamilyStreamName(familyId),
    { type: 'RevokeRefreshFamily', data: { familyId, reason } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata },
  )
}
