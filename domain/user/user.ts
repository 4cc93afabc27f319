/**
 * Users: people who log in. Each user owns exactly one account, whose id is created
 * with the user; everything the user makes (applications, things, ...) belongs to it.
 *
 * Secrets never enter an event in clear: the password arrives already hashed (a slow
 * salted hash made by the adapter behind the PasswordHasher port), reset tokens as a
 * hash. `credentialsVersion` counts password changes: SSO sessions and refresh-token
 * families remember the version they were started under and die when it moves on.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts'

export interface UserProfile {
  readonly firstName: string
  readonly lastName: string
  readonly phoneNumber: string | null
  readonly userClassId: number | null
  readonly userGroupId: number | null
  readonly permissionRoleId: number | null
}

/** How long a password reset token stays good. */
export const passwordResetTtlMs = 60 * 60 * 1000

// Events ------------------------------------------------------------------------------

export type UserRegistered = DomainEvent<
  'UserRegistered',
  UserProfile & {
    readonly userId: string
    readonly accountId: string
    /** lower-cased */
    readonly email: string
    readonly passwordHash: string
    /** the application the user was created for (API `application_id`), if any */
    readonly applicationId: string | null
    readonly admin: boolean
    readonly registeredAt: string
  }
>

export type UserUpdated = DomainEvent<
  'UserUpdated',
  { readonly userId: string; readonly changes: Partial<UserProfile>; readonly updatedAt: string }
>

export type UserLoggedIn = DomainEvent<
  'UserLoggedIn',
  { readonly userId: string; readonly clientId: string | null; readonly method: 'form' | 'password_grant'; readonly at: string }
>

export type PasswordResetRequested = DomainEvent<
  'PasswordResetRequested',
  {
    readonly userId: string
    readonly resetId: string
    readonly email: string
    readonly firstName: string
    readonly lastName: string
    /** hash of the token; the token itself is only ever sent to the user */
    readonly tokenHash: string
    readonly requestedAt: string
    readonly expiresAt: string
  }
>

export type PasswordChanged = DomainEvent<
  'PasswordChanged',
  {
    readonly userId: string
    readonly passwordHash: string
    /** the reset that allowed the change */
    readonly resetId: string | null
    /** the new credentials version: older sessions and refresh tokens are dead */
    readonly credentialsVersion: number
    readonly changedAt: string
  }
>

/** The user allowed an application these scopes; a later authorize asking no more skips the consent page. */
export type ConsentGranted = DomainEvent<
  'ConsentGranted',
  { readonly userId: string; readonly clientId: string; readonly scope: readonly string[]; readonly at: string }
>

/**
 * Someone tried to register this user's address (the sign-up page, or an application's
 * POST /users). The answer they got looked like a success; the owner is e-mailed instead.
 */
export type SignUpAttempted = DomainEvent<
  'SignUpAttempted',
  {
    readonly userId: string
    readonly email: string
    readonly firstName: string
    readonly via: 'signup_page' | 'users_api'
    readonly applicationId: string | null
    readonly at: string
  }
>

export type UserEvent = UserRegistered | UserUpdated | UserLoggedIn | PasswordResetRequested | PasswordChanged | ConsentGranted | SignUpAttempted

// Commands ----------------------------------------------------------------------------

export type RegisterUser = Command<
  'RegisterUser',
  UserProfile & {
    readonly userId: string
    readonly accountId: string
    readonly email: string
    readonly passwordHash: string
    readonly applicationId: string | null
    readonly admin: boolean
  }
>

export type UpdateUser = Command<
  'UpdateUser',
  { readonly userId: string; readonly changes: Partial<UserProfile>; readonly email?: string }
>

export type RecordLogin = Command<
  'RecordLogin',
  { readonly userId: string; readonly clientId: string | null; readonly method: 'form' | 'password_grant' }
>

export type RequestPasswordReset = Command<
  'RequestPasswordReset',
  { readonly userId: string; readonly resetId: string; readonly tokenHash: string }
>

export type ResetPassword = Command<
  'ResetPassword',
  { readonly userId: string; readonly tokenHash: string; readonly passwordHash: string }
>

export type GrantConsent = Command<'GrantConsent', { readonly userId: string; readonly clientId: string; readonly scope: readonly string[] }>

export type RecordSignUpAttempt = Command<
  'RecordSignUpAttempt',
  { readonly userId: string; readonly via: SignUpAttempted['data']['via']; readonly applicationId: string | null }
>

export type UserCommand = RegisterUser | UpdateUser | RecordLogin | RequestPasswordReset | ResetPassword | GrantConsent | RecordSignUpAttempt

// State -------------------------------------------------------------------------------

export interface PendingReset {
  readonly resetId: string
  readonly tokenHash: string
  readonly expiresAt: string
}

export type UserState =
  | { readonly status: 'unregistered' }
  | {
      readonly status: 'registered'
      readonly userId: string
      readonly accountId: string
      readonly email: string
      readonly passwordHash: string
      readonly profile: UserProfile
      readonly applicationId: string | null
      readonly admin: boolean
      readonly credentialsVersion: number
      readonly pendingResets: readonly PendingReset[]
      /** client id -> scopes the user allowed it */
      readonly consents: Readonly<Record<string, readonly string[]>>
      readonly registeredAt: string
      readonly updatedAt: string
      readonly lastLogin: string | null
    }

export const userStreamName = (userId: string): string => `user-${userId}`

const profileFields = [
  'firstName',
  'lastName',
  'phoneNumber',
  'userClassId',
  'userGroupId',
  'permissionRoleId',
] as const satisfies readonly (keyof UserProfile)[]

function pickProfile(source: UserProfile): UserProfile {
  const profile: Record<string, unknown> = {}
  for (const field of profileFields) profile[field] = source[field]
  return profile as unknown as UserProfile
}

function effectiveChanges(current: UserProfile, requested: Partial<UserProfile>): Partial<UserProfile> {
  const changes: Record<string, unknown> = {}
  for (const field of profileFields) {
    const value = requested[field]
    if (value !== undefined && value !== current[field]) changes[field] = value
  }
  return changes as Partial<UserProfile>
}

const notFound = (userId: string): NotFoundError => new NotFoundError(`User ${userId} not found`, 'user_not_found')

export const userDecider: Decider<UserState, UserCommand, UserEvent> = {
  initialState: { status: 'unregistered' },

  decide(command, state, now) {
    switch (command.type) {
      case 'RegisterUser': {
        if (state.status === 'registered') {
          if (state.email === command.data.email && state.accountId === command.data.accountId) return []
          throw new ConflictError(`User ${command.data.userId} already exists`, 'user_exists')
        }
        return [
          {
            type: 'UserRegistered',
            data: {
              ...pickProfile(command.data),
              userId: command.data.userId,
              accountId: command.data.accountId,
              email: command.data.email,
              passwordHash: command.data.passwordHash,
              applicationId: command.data.applicationId,
              admin: command.data.admin,
              registeredAt: now.toISOString(),
            },
          },
        ]
      }
      case 'UpdateUser': {
        if (state.status !== 'registered') throw notFound(command.data.userId)
        if (command.data.email !== undefined && command.data.email !== state.email) {
          throw new ValidationError('E-mail cannot be changed', [{ field: 'email', problem: 'cannot be changed' }], 'email_immutable')
        }
        const changes = effectiveChanges(state.profile, command.data.changes)
        if (Object.keys(changes).length === 0) return []
        return [{ type: 'UserUpdated', data: { userId: state.userId, changes, updatedAt: now.toISOString() } }]
      }
      case 'RecordLogin': {
        if (state.status !== 'registered') throw notFound(command.data.userId)
        return [
          {
            type: 'UserLoggedIn',
            data: { userId: state.userId, clientId: command.data.clientId, method: command.data.method, at: now.toISOString() },
          },
        ]
      }
      case 'RequestPasswordReset': {
        if (state.status !== 'registered') throw notFound(command.data.userId)
        if (state.pendingResets.some((reset) => reset.resetId === command.data.resetId)) return []
        return [
          {
            type: 'PasswordResetRequested',
            data: {
              userId: state.userId,
              resetId: command.data.resetId,
              email: state.email,
              firstName: state.profile.firstName,
              lastName: state.profile.lastName,
              tokenHash: command.data.tokenHash,
              requestedAt: now.toISOString(),
              expiresAt: new Date(now.getTime() + passwordResetTtlMs).toISOString(),
            },
          },
        ]
      }
      case 'ResetPassword': {
        const invalid = new ValidationError(
          'The reset token is invalid, used or expired',
          [{ field: 'token', problem: 'is invalid, used or expired' }],
          'invalid_reset_token',
        )
        if (state.status !== 'registered') throw invalid
        const reset = state.pendingResets.find((r) => r.tokenHash === command.data.tokenHash)
        if (!reset || Date.parse(reset.expiresAt) <= now.getTime()) throw invalid
        return [
          {
            type: 'PasswordChanged',
            data: {
              userId: state.userId,
              passwordHash: command.data.passwordHash,
              resetId: reset.resetId,
              credentialsVersion: state.credentialsVersion + 1,
              changedAt: now.toISOString(),
            },
          },
        ]
      }
      case 'GrantConsent': {
        if (state.status !== 'registered') throw notFound(command.data.userId)
        if (hasConsented(state, command.data.clientId, command.data.scope)) return []
        const scope = [...new Set([...(state.consents[command.data.clientId] ?? []), ...command.data.scope])].sort()
        return [{ type: 'ConsentGranted', data: { userId: state.userId, clientId: command.data.clientId, scope, at: now.toISOString() } }]
      }
      case 'RecordSignUpAttempt': {
        if (state.status !== 'registered') throw notFound(command.data.userId)
        const { via, applicationId } = command.data
        return [{ type: 'SignUpAttempted', data: { userId: state.userId, email: state.email, firstName: state.profile.firstName, via, applicationId, at: now.toISOString() } }]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered':
        return {
          status: 'registered',
          userId: event.data.userId,
          accountId: event.data.accountId,
          email: event.data.email,
          passwordHash: event.data.passwordHash,
          profile: pickProfile(event.data),
          applicationId: event.data.applicationId,
          admin: event.data.admin,
          credentialsVersion: 0,
          pendingResets: [],
          consents: {},
          registeredAt: event.data.registeredAt,
          updatedAt: event.data.registeredAt,
          lastLogin: null,
        }
      case 'UserUpdated':
        if (state.status !== 'registered') return state
        return { ...state, profile: { ...state.profile, ...event.data.changes }, updatedAt: event.data.updatedAt }
      case 'UserLoggedIn':
        if (state.status !== 'registered') return state
        return { ...state, lastLogin: event.data.at }
      case 'PasswordResetRequested':
        if (state.status !== 'registered') return state
        return {
          ...state,
          pendingResets: [
            ...state.pendingResets,
            { resetId: event.data.resetId, tokenHash: event.data.tokenHash, expiresAt: event.data.expiresAt },
          ],
        }
      case 'PasswordChanged':
        if (state.status !== 'registered') return state
        // A changed password uses up every outstanding reset token.
        return {
          ...state,
          passwordHash: event.data.passwordHash,
          credentialsVersion: event.data.credentialsVersion,
          pendingResets: [],
          updatedAt: event.data.changedAt,
        }
      case 'ConsentGranted':
        if (state.status !== 'registered') return state
        return { ...state, consents: { ...state.consents, [event.data.clientId]: event.data.scope } }
      case 'SignUpAttempted':
        return state
      default:
        return unreachable(event)
    }
  },
}

/** Has the user already allowed this client every one of these scopes? */
export function hasConsented(state: UserState, clientId: string, scope: readonly string[]): boolean {
  if (state.status !== 'registered') return false
  const granted = state.consents[clientId]
  return granted !== undefined && scope.every((s) => granted.includes(s))
}
