/**
 * Read model `users`: one document per user in the API's response shape, plus the
 * account and the admin flag. No password hash, no reset token hash: they stay in the
 * event log, where only the auth server's checks read them.
 */
import type { UserEvent, UserState } from '../domain/user/user.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface UserView {
  readonly id: string
  readonly email: string
  readonly first_name: string
  readonly last_name: string
  readonly last_login: string | null
  readonly phone_number: string | null
  readonly created_at: string
  readonly updated_at: string
  readonly user_class_id: number | null
  readonly user_groups_id: number | null
  readonly permission_role_id: number | null
  readonly application_id: string | null
  readonly account_id: string
}

export type UserDocument = UserView & { readonly admin: boolean; readonly revision: number; readonly [field: string]: unknown }

/** The response for a user just written, built from the decided state. */
export function userViewOf(state: UserState): UserView {
  if (state.status !== 'registered') throw new Error('user is not registered')
  return {
    id: state.userId,
    email: state.email,
    first_name: state.profile.firstName,
    last_name: state.profile.lastName,
    last_login: state.lastLogin,
    phone_number: state.profile.phoneNumber,
    created_at: state.registeredAt,
    updated_at: state.updatedAt,
    user_class_id: state.profile.userClassId,
    user_groups_id: state.profile.userGroupId,
    permission_role_id: state.profile.permissionRoleId,
    application_id: state.applicationId,
    account_id: state.accountId,
  }
}

export function toUserView(document: UserDocument): UserView {
  const { admin: _admin, revision: _revision, ...view } = document
  return view as UserView
}

export const usersProjection = projection<UserEvent, UserDocument>({
  name: 'users',
  version: 1,
  collection: 'users',
  indexes: ['email', 'account_id', 'application_id'],
  canHandle: ['UserRegistered', 'UserUpdated', 'UserLoggedIn', 'PasswordChanged'],
  documentId: (event) => event.data.userId,
  evolve(document, event) {
    switch (event.type) {
      case 'UserRegistered': {
        const d = event.data
        return {
          id: d.userId,
          email: d.email,
          first_name: d.firstName,
          last_name: d.lastName,
          last_login: null,
          phone_number: d.phoneNumber,
          created_at: d.registeredAt,
          updated_at: d.registeredAt,
          user_class_id: d.userClassId,
          user_groups_id: d.userGroupId,
          permission_role_id: d.permissionRoleId,
          application_id: d.applicationId,
          account_id: d.accountId,
          admin: d.admin,
          revision: event.revision,
        }
      }
      case 'UserUpdated': {
        if (!document) return null
        const c = event.data.changes
        return {
          ...document,
          ...(c.firstName !== undefined ? { first_name: c.firstName } : {}),
          ...(c.lastName !== undefined ? { last_name: c.lastName } : {}),
          ...(c.phoneNumber !== undefined ? { phone_number: c.phoneNumber } : {}),
          ...(c.userClassId !== undefined ? { user_class_id: c.userClassId } : {}),
          ...(c.userGroupId !== undefined ? { user_groups_id: c.userGroupId } : {}),
          ...(c.permissionRoleId !== undefined ? { permission_role_id: c.permissionRoleId } : {}),
          updated_at: event.data.updatedAt,
          revision: event.revision,
        }
      }
      case 'UserLoggedIn':
        return document ? { ...document, last_login: event.data.at, revision: event.revision } : null
      case 'PasswordChanged':
        return document ? { ...document, updated_at: event.data.changedAt, revision: event.revision } : null
      case 'PasswordResetRequested':
      case 'ConsentGranted':
      case 'SignUpAttempted':
        return document
    }
  },
})

// Queries -----------------------------------------------------------------------------

export const userById = (readStore: ReadStore, userId: string): Promise<UserDocument | undefined> =>
  readStore.collection<UserDocument>(usersProjection.collection).get(userId)
