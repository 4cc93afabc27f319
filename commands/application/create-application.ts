/**
 * Creates an application in an account. Its id is its client_id (the App Key); the
 * secret (the App Secret) is returned here once and recorded only as a hash. Used by
 * POST /applications, the console and `capsicum app create`.
 */
import { applicationDecider, applicationStreamName } from '../../domain/application/application.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'

export interface NewApplication {
  readonly accountId: string
  readonly ownerUserId: string | null
  readonly name: string
  readonly description: string | null
  readonly management: boolean
}

export async function createApplication(
  input: NewApplication,
  deps: { eventStore: EventStore; now: () => Date; newId: () => string; secrets: Secrets },
  metadata: Omit<EventMetadata, 'time'>,
) {
  const applicationId = deps.newId()
  const clientSecret = deps.secrets.randomToken()
  const result = await handleCommand(
    applicationDecider,
    applicationStreamName(applicationId),
    { type: 'CreateApplication', data: { applicationId, ...input, secretHash: deps.secrets.hashToken(clientSecret) } },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, account_id: input.accountId } },
  )
  return { ...result, clientSecret }
}
