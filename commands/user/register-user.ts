/**
 * Registers a user: claims the e-mail address first (its own stream, so two sign-ups
 * with one address cannot both win), then writes the user, who gets an account of their
 * own. Used by POST /users, the sign-up page and `capsicum user create`.
 */
import { ConflictError } from '../../domain/errors.ts'
import { emailClaimDecider, emailClaimStreamName, normalizeEmail } from '../../domain/user/email-claim.ts'
import { userDecider, userStreamName, type RegisterUser, type UserProfile } from '../../domain/user/user.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'

export interface NewUser extends UserProfile {
  readonly email: string
  readonly password: string
  readonly applicationId: string | null
  readonly admin: boolean
}

export interface RegisterDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly secrets: Secrets
}

export async function registerUser(input: NewUser, deps: RegisterDeps, metadata: Omit<EventMetadata, 'time'>) {
  const userId = deps.newId()
  const accountId = deps.newId()
  const email = normalizeEmail(input.email)
  const passwordHash = await deps.secrets.hashPassword(input.password)
  const context = { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: accountId } }

  const claimStream = emailClaimStreamName(email)
  try {
    await handleCommand(emailClaimDecider, claimStream, { type: 'ClaimEmail', data: { email, userId } }, context)
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error
    // The owner may be an orphan: a claim whose user was never written.
    const claim = await loadState(emailClaimDecider, claimStream, deps.eventStore)
    if (claim.status !== 'claimed') throw error
    const owner = await deps.eventStore.readStream(userStreamName(claim.userId))
    if (owner.length > 0) throw error
    await handleCommand(emailClaimDecider, claimStream, { type: 'ClaimEmail', data: { email, userId, orphanOf: claim.userId } }, context)
  }

  const command: RegisterUser = {
    type: 'RegisterUser',
    data: {
      userId,
      accountId,
      email,
      passwordHash,
      applicationId: input.applicationId,
      admin: input.admin,
      firstName: input.firstName,
      lastName: input.lastName,
      phoneNumber: input.phoneNumber,
      userClassId: input.userClassId,
      userGroupId: input.userGroupId,
      permissionRoleId: input.permissionRoleId,
    },
  }
  return handleCommand(userDecider, userStreamName(userId), command, context)
}

export type SignUpOutcome =
  | { readonly registered: true; readonly result: Awaited<ReturnType<typeof registerUser>> }
  | { readonly registered: false; readonly ownerId: string }

/**
 * Registers a user, or, when the address has an owner already, records the attempt on
 * the owner's stream (the mail reactor tells them) instead of failing: for callers whose
 * answer must not tell a registered address from a new one.
 */
export async function registerOrNotifyOwner(
  input: NewUser,
  via: 'signup_page' | 'users_api',
  deps: RegisterDeps,
  metadata: Omit<EventMetadata, 'time'>,
): Promise<SignUpOutcome> {
  try {
    return { registered: true, result: await registerUser(input, deps, metadata) }
  } catch (error) {
    if (!(error instanceof ConflictError) || error.code !== 'email_taken') throw error
    const ownerId = await userIdByEmail(deps.eventStore, input.email)
    if (ownerId === null) throw error
    const context = { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata }
    await handleCommand(userDecider, userStreamName(ownerId), { type: 'RecordSignUpAttempt', data: { userId: ownerId, via, applicationId: input.applicationId } }, context)
    return { registered: false, ownerId }
  }
}

/** The user an e-mail address belongs to, straight from the log (no read-model lag). */
export async function userIdByEmail(eventStore: EventStore, email: string): Promise<string | null> {
  const claim = await loadState(emailClaimDecider, emailClaimStreamName(email), eventStore)
  return claim.status === 'claimed' ? claim.userId : null
}

export async function loadUser(eventStore: EventStore, userId: string) {
  return loadState(userDecider, userStreamName(userId), eventStore)
}
