/**
 * Applications: OAuth2 clients. The application's id is its `client_id` (the console's
 * "App Key"); the secret ("App Secret") is shown once and only its hash is recorded.
 * An application belongs to its creator's account. Only an active application gets
 * tokens; `blocked` is set and lifted by an admin only.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts'

export const applicationStatuses = ['active', 'inactive', 'blocked'] as const
export type ApplicationStatus = (typeof applicationStatuses)[number]

export interface RedirectUri {
  readonly redirectId: string
  readonly redirectUri: string
  readonly addedAt: string
}

/** At most this many redirect URIs per application. */
export const maxRedirectUris = 20

/**
 * A redirect URI must be absolute and without fragment (RFC 6749 3.1.2), and either https,
 * http to a loopback address (RFC 8252 7.3), or a private-use scheme like
 * `com.example.app:/cb` (RFC 8252 7.1). Returns the problem, or null when it is fine.
 */
export function redirectUriProblem(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute URI'
  }
  if (value.includes('#')) return 'must not contain a fragment'
  const scheme = url.protocol.slice(0, -1).toLowerCase()
  if (scheme === 'https') return url.hostname ? null : 'must name a host'
  if (scheme === 'http') {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
    const loopback = host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
    return loopback ? null : 'http is allowed only to a loopback address (localhost, 127.0.0.1, [::1]); use https'
  }
  if (['javascript', 'data', 'file', 'vbscript', 'blob', 'about', 'ftp', 'ws', 'wss', 'mailto'].includes(scheme)) {
    return `must not use the ${scheme} scheme`
  }
  // Private-use schemes are reverse domain names: at least one dot (RFC 8252 7.1).
  return scheme.includes('.') ? null : 'must be https, loopback http, or a private-use scheme such as com.example.app'
}

// Events ------------------------------------------------------------------------------

export type ApplicationCreated = DomainEvent<
  'ApplicationCreated',
  {
    readonly applicationId: string
    readonly accountId: string
    readonly ownerUserId: string | null
    readonly name: string
    readonly description: string | null
    readonly secretHash: string
    readonly management: boolean
    readonly createdAt: string
  }
>

export type ApplicationUpdated = DomainEvent<
  'ApplicationUpdated',
  {
    readonly applicationId: string
    readonly changes: { readonly name?: string; readonly description?: string | null; readonly status?: ApplicationStatus }
    readonly updatedAt: string
  }
>

export type RedirectUriAdded = DomainEvent<
  'RedirectUriAdded',
  { readonly applicationId: string; readonly redirectId: string; readonly redirectUri: string; readonly addedAt: string }
>

export type RedirectUriRemoved = DomainEvent<
  'RedirectUriRemoved',
  { readonly applicationId: string; readonly redirectId: string; readonly removedAt: string }
>

export type ApplicationEvent = ApplicationCreated | ApplicationUpdated | RedirectUriAdded | RedirectUriRemoved

// Commands ----------------------------------------------------------------------------

/** Who asks: the application's account must match, and only an admin touches `blocked`. */
export interface Requester {
  readonly accountId: string
  readonly admin: boolean
}

export type CreateApplication = Command<
  'CreateApplication',
  {
    readonly applicationId: string
    readonly accountId: string
    readonly ownerUserId: string | null
    readonly name: string
    readonly description: string | null
    readonly secretHash: string
    readonly management: boolean
  }
>

export type UpdateApplication = Command<
  'UpdateApplication',
  {
    readonly applicationId: string
    readonly requester: Requester
    readonly changes: { readonly name?: string; readonly description?: string | null; readonly status?: ApplicationStatus }
  }
>

export type AddRedirectUri = Command<
  'AddRedirectUri',
  { readonly applicationId: string; readonly requester: Requester; readonly redirectId: string; readonly redirectUri: string }
>

export type RemoveRedirectUri = Command<
  'RemoveRedirectUri',
  { readonly applicationId: string; readonly requester: Requester; readonly redirectId: string }
>

export type ApplicationCommand = CreateApplication | UpdateApplication | AddRedirectUri | RemoveRedirectUri

// State -------------------------------------------------------------------------------

export type ApplicationState =
  | { readonly status: 'none' }
  | {
      readonly status: ApplicationStatus
      readonly applicationId: string
      readonly accountId: string
      readonly ownerUserId: string | null
      readonly name: string
      readonly description: string | null
      readonly secretHash: string
      readonly management: boolean
      readonly redirectUris: readonly RedirectUri[]
      readonly createdAt: string
      readonly updatedAt: string
    }

export type ExistingApplication = Exclude<ApplicationState, { status: 'none' }>

export const applicationStreamName = (applicationId: string): string => `application-${applicationId}`

/** May this application get tokens? */
export const canGetTokens = (state: ApplicationState): boolean => state.status === 'active'

function visibleTo(state: ApplicationState, applicationId: string, requester: Requester): ExistingApplication {
  if (state.status === 'none' || (!requester.admin && state.accountId !== requester.accountId)) {
    throw new NotFoundError(`Application ${applicationId} not found`, 'application_not_found')
  }
  return state
}

export const applicationDecider: Decider<ApplicationState, ApplicationCommand, ApplicationEvent> = {
  initialState: { status: 'none' },

  decide(command, state, now) {
    const at = now.toISOString()
    switch (command.type) {
      case 'CreateApplication': {
        if (state.status !== 'none') {
          if (state.accountId === command.data.accountId && state.secretHash === command.data.secretHash) return []
          throw new ConflictError(`Application ${command.data.applicationId} already exists`, 'application_exists')
        }
        return [{ type: 'ApplicationCreated', data: { ...command.data, createdAt: at } }]
      }
      case 'UpdateApplication': {
        const app = visibleTo(state, command.data.applicationId, command.data.requester)
        const { status } = command.data.changes
        if (status !== undefined && status !== app.status && (status === 'blocked' || app.status === 'blocked') && !command.data.requester.admin) {
          throw new ForbiddenError('Only an admin blocks or unblocks an application', 'application_blocked')
        }
        const changes: Record<string, unknown> = {}
        for (const field of ['name', 'description', 'status'] as const) {
          const value = command.data.changes[field]
          if (value !== undefined && value !== app[field]) changes[field] = value
        }
        if (Object.keys(changes).length === 0) return []
        return [{ type: 'ApplicationUpdated', data: { applicationId: app.applicationId, changes, updatedAt: at } }]
      }
      case 'AddRedirectUri': {
        const app = visibleTo(state, command.data.applicationId, command.data.requester)
        const problem = redirectUriProblem(command.data.redirectUri)
        if (problem) throw new ValidationError(`redirect_uri ${problem}`, [{ field: 'redirect_uri', problem }], 'invalid_redirect_uri')
        if (app.redirectUris.some((r) => r.redirectUri === command.data.redirectUri)) return []
        if (app.redirectUris.length >= maxRedirectUris) {
          throw new ConflictError(`An application has at most ${maxRedirectUris} redirect URIs`, 'too_many_redirect_uris')
        }
        return [
          {
            type: 'RedirectUriAdded',
            data: { applicationId: app.applicationId, redirectId: command.data.redirectId, redirectUri: command.data.redirectUri, addedAt: at },
          },
        ]
      }
      case 'RemoveRedirectUri': {
        const app = visibleTo(state, command.data.applicationId, command.data.requester)
        if (!app.redirectUris.some((r) => r.redirectId === command.data.redirectId)) {
          throw new NotFoundError(`Redirect ${command.data.redirectId} not found`, 'redirect_not_found')
        }
        return [{ type: 'RedirectUriRemoved', data: { applicationId: app.applicationId, redirectId: command.data.redirectId, removedAt: at } }]
      }
      default:
        return unreachable(command)
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'ApplicationCreated':
        return {
          status: 'active',
          applicationId: event.data.applicationId,
          accountId: event.data.accountId,
          ownerUserId: event.data.ownerUserId,
          name: event.data.name,
          description: event.data.description,
          secretHash: event.data.secretHash,
          management: event.data.management,
          redirectUris: [],
          createdAt: event.data.createdAt,
          updatedAt: event.data.createdAt,
        }
      case 'ApplicationUpdated':
        if (state.status === 'none') return state
        return { ...state, ...event.data.changes, updatedAt: event.data.updatedAt }
      case 'RedirectUriAdded':
        if (state.status === 'none') return state
        return {
          ...state,
          redirectUris: [...state.redirectUris, { redirectId: event.data.redirectId, redirectUri: event.data.redirectUri, addedAt: event.data.addedAt }],
          updatedAt: event.data.addedAt,
        }
      case 'RedirectUriRemoved':
        if (state.status === 'none') return state
        return {
          ...state,
          redirectUris: state.redirectUris.filter((r) => r.redirectId !== event.data.redirectId),
          updatedAt: event.data.removedAt,
        }
      default:
        return unreachable(event)
    }
  },
}
