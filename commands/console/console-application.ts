/**
 * The dashboard's own OAuth client: a built-in public application (no secret, PKCE only),
 * seeded at start like the built-in thing types. Its one redirect URI is the dashboard
 * page on whatever origin the browser reached us at, so it works behind any host name or
 * port without registering each; every other application keeps exact matching.
 */
import type { Request } from 'express'
import { applicationDecider, applicationStreamName, type ExistingApplication } from '../../domain/application/application.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'

/** Fixed, so every start finds the same application (seeding is idempotent). */
export const consoleApplicationId = '00000000-0000-4000-8000-00000000c0de'
/** The dashboard page, where the authorization code comes back. */
export const consoleRedirectPath = '/dashboard/'
/** Stands in for the secret's hash: no secret hashes to it, so the client stays public. */
const noSecret = 'public-client:no-secret'

export async function seedConsoleApplication(deps: { eventStore: EventStore; now: () => Date; newId: () => string }): Promise<number | null> {
  const result = await handleCommand(
    applicationDecider,
    applicationStreamName(consoleApplicationId),
    {
      type: 'CreateApplication',
      data: {
        applicationId: consoleApplicationId,
        accountId: 'capsicum',
        ownerUserId: null,
        name: 'Capsicum dashboard',
        description: 'The dashboard at /dashboard/ (built in)',
        management: false,
        secretHash: noSecret,
      },
    },
    {
      eventStore: deps.eventStore,
      now: deps.now,
      newId: deps.newId,
      metadata: { actor: { type: 'system', id: 'capsicum' }, account_id: null, client_id: null, correlation_id: 'seed-built-ins', causation_id: 'seed-built-ins' },
    },
  )
  return result.position
}

/** The built-in dashboard: our own page, so the person is not asked to consent to it. */
export function isConsoleApplication(client: ExistingApplication): boolean {
  return client.applicationId === consoleApplicationId
}

/** Whether `redirectUri` is one the client registered (the dashboard: its page on the origin asked). */
export function isRegisteredRedirect(client: ExistingApplication, redirectUri: unknown, ownOrigin: string): redirectUri is string {
  if (typeof redirectUri !== 'string') return false
  if (isConsoleApplication(client)) return redirectUri === `${ownOrigin}${consoleRedirectPath}`
  return client.redirectUris.some((r) => r.redirectUri === redirectUri)
}

/** The origin the browser reached us at (the dashboard's redirect URI is on it). */
export function originOf(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`
}
