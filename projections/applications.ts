/**
 * Read model `applications`: one document per application with its redirect URIs, for
 * the listing, the console and GET. The secret's hash is not here.
 */
import type { ApplicationEvent, ApplicationState, ApplicationStatus } from '../domain/application/application.ts'
import { projection } from './projection.ts'
import type { ReadStore } from '../domain/ports/read-store.ts'

export interface RedirectView {
  readonly id: string
  readonly app_id: string
  readonly redirect_uri: string
  readonly created_at: string
  readonly updated_at: string
}

export interface ApplicationView {
  readonly id: string
  readonly name: string
  readonly description: string | null
  readonly status: ApplicationStatus
  readonly client_id: string
  readonly account_id: string
  readonly management: boolean
  readonly redirect_uris: readonly RedirectView[]
  readonly created_at: string
  readonly updated_at: string
}

export type ApplicationDocument = ApplicationView & {
  readonly owner_user_id: string | null
  readonly revision: number
  readonly [field: string]: unknown
}

export function applicationViewOf(state: ApplicationState): ApplicationView {
  if (state.status === 'none') throw new Error('application does not exist')
  return {
    id: state.applicationId,
    name: state.name,
    description: state.description,
    status: state.status,
    client_id: state.applicationId,
    account_id: state.accountId,
    management: state.management,
    redirect_uris: state.redirectUris.map((r) => ({
      id: r.redirectId,
      app_id: state.applicationId,
      redirect_uri: r.redirectUri,
      created_at: r.addedAt,
      updated_at: r.addedAt,
    })),
    created_at: state.createdAt,
    updated_at: state.updatedAt,
  }
}

export function toApplicationView(document: ApplicationDocument): ApplicationView {
  const { owner_user_id: _owner, revision: _revision, ...view } = document
  return view as ApplicationView
}

export const applicationsProjection = projection<ApplicationEvent, ApplicationDocument>({
  name: 'applications',
  version: 1,
  collection: 'applications',
  indexes: ['account_id', 'status'],
  canHandle: ['ApplicationCreated', 'ApplicationUpdated', 'RedirectUriAdded', 'RedirectUriRemoved'],
  documentId: (event) => event.data.applicationId,
  evolve(document, event) {
    switch (event.type) {
      case 'ApplicationCreated': {
        const d = event.data
        return {
          id: d.applicationId,
          name: d.name,
          description: d.description,
          status: 'active',
          client_id: d.applicationId,
          account_id: d.accountId,
          management: d.management,
          redirect_uris: [],
          created_at: d.createdAt,
          updated_at: d.createdAt,
          owner_user_id: d.ownerUserId,
          revision: event.revision,
        }
      }
      case 'ApplicationUpdated':
        return document ? { ...document, ...event.data.changes, updated_at: event.data.updatedAt, revision: event.revision } : null
      case 'RedirectUriAdded': {
        if (!document) return null
        const d = event.data
        const redirect: RedirectView = { id: d.redirectId, app_id: d.applicationId, redirect_uri: d.redirectUri, created_at: d.addedAt, updated_at: d.addedAt }
        return { ...document, redirect_uris: [...document.redirect_uris, redirect], updated_at: d.addedAt, revision: event.revision }
      }
      case 'RedirectUriRemoved':
        if (!document) return null
        return {
          ...document,
          redirect_uris: document.redirect_uris.filter((r) => r.id !== event.data.redirectId),
          updated_at: event.data.removedAt,
          revision: event.revision,
        }
    }
  },
})

// Queries -----------------------------------------------------------------------------

const collectionOf = (readStore: ReadStore) => readStore.collection<ApplicationDocument>(applicationsProjection.collection)

/** An application the account may see; another account's is "not found" (an admin sees all). */
export async function applicationVisibleTo(
  readStore: ReadStore,
  who: { accountId: string; admin: boolean },
  applicationId: string,
): Promise<ApplicationDocument | undefined> {
  const document = await collectionOf(readStore).get(applicationId)
  if (!document || (!who.admin && document.account_id !== who.accountId)) return undefined
  return document
}

export function applicationsOfAccount(readStore: ReadStore, accountId: string, status?: ApplicationStatus): Promise<ApplicationDocument[]> {
  return collectionOf(readStore).find({ account_id: accountId, ...(status ? { status } : {}) }, { orderBy: 'created_at' })
}
