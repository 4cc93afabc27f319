/**
 * `capsicum user create` and `capsicum app create`: the first admin and the first
 * application, written through the same use cases as the API (every write an event).
 * They take DATA_DIR's lock, so they refuse while a server owns it; the server's read
 * models pick the new events up when it starts.
 */
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { createApplication } from '../../commands/application/create-application.ts'
import { loadUser, registerUser, userIdByEmail } from '../../commands/user/register-user.ts'
import { minPasswordLength } from '../../commands/user/schemas.ts'
import { CapsicumError } from '../../domain/errors.ts'
import { openEmbeddedStores } from '../capsicum.ts'
import { loadConfig } from '../config.ts'
import { NodeSecrets } from '../secrets.ts'
import { TokenService } from '../tokens.ts'

export class BootstrapUsageError extends Error {}

const metadata = (what: string) => ({
  actor: { type: 'system', id: 'capsicum-cli' },
  account_id: null,
  client_id: null,
  correlation_id: `cli-${what}-${randomUUID()}`,
  causation_id: `cli-${what}`,
}) as const

async function withStores<T>(work: (deps: Parameters<typeof registerUser>[1]) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const secrets = new NodeSecrets(TokenService.load(config).privateKey)
  const stores = openEmbeddedStores(config)
  try {
    return await work({ eventStore: stores.eventStore, now: () => new Date(), newId: () => randomUUID(), secrets })
  } catch (error) {
    if (error instanceof CapsicumError) throw new Error(error.message, { cause: error })
    throw error
  } finally {
    await stores.close()
  }
}

export async function userCreate(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      admin: { type: 'boolean', default: false },
    },
    strict: true,
  })
  const parsed = z
    .object({ email: z.email(), password: z.string().min(minPasswordLength), first: z.string().trim().min(1), last: z.string().trim().min(1) })
    .safeParse({ email: values.email, password: values.password, first: values['first-name'], last: values['last-name'] })
  if (!parsed.success) {
    throw new BootstrapUsageError(
      `user create needs --email ADDRESS --password TEXT (at least ${minPasswordLength} characters) --first-name NAME --last-name NAME [--admin]`,
    )
  }
  const result = await withStores((deps) =>
    registerUser(
      {
        email: parsed.data.email,
        password: parsed.data.password,
        firstName: parsed.data.first,
        lastName: parsed.data.last,
        phoneNumber: null,
        userClassId: null,
        userGroupId: null,
        permissionRoleId: null,
        applicationId: null,
        admin: values.admin ?? false,
      },
      deps,
      metadata('user-create'),
    ),
  )
  if (result.state.status !== 'registered') throw new Error('the user was not registered')
  const user = result.state
  process.stdout.write(
    `${JSON.stringify({ id: user.userId, email: user.email, first_name: user.profile.firstName, last_name: user.profile.lastName, account_id: user.accountId, admin: user.admin })}\n`,
  )
  return 0
}

export async function appCreate(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { owner: { type: 'string' }, name: { type: 'string' }, description: { type: 'string' }, management: { type: 'boolean', default: false } },
    strict: true,
  })
  if (!values.owner || !values.name?.trim()) throw new BootstrapUsageError('app create needs --owner EMAIL --name NAME [--description TEXT] [--management]')
  const created = await withStores(async (deps) => {
    const userId = await userIdByEmail(deps.eventStore, values.owner!)
    const owner = userId ? await loadUser(deps.eventStore, userId) : null
    if (!owner || owner.status !== 'registered') throw new Error(`No user has the e-mail ${values.owner}`)
    return createApplication(
      { accountId: owner.accountId, ownerUserId: owner.userId, name: values.name!.trim(), description: values.description?.trim() || null, management: values.management ?? false },
      deps,
      metadata('app-create'),
    )
  })
  if (created.state.status === 'none') throw new Error('the application was not created')
  const app = created.state
  process.stdout.write(
    `${JSON.stringify({ id: app.applicationId, client_id: app.applicationId, client_secret: created.clientSecret, name: app.name, account_id: app.accountId, management: app.management, status: app.status })}\n`,
  )
  return 0
}
