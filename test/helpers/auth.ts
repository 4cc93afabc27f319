/**
 * Fixtures for the auth server's tests: users and applications written through the
 * same use cases the CLI uses, tokens obtained over real HTTP, and a cookie jar for the
 * pages.
 */
import { NodeSecrets } from '../../adapters/secrets.ts'
import { createApplication } from '../../commands/application/create-application.ts'
import { registerUser } from '../../commands/user/register-user.ts'
import type { TestServer } from './server.ts'

const bootstrap = { actor: { type: 'system', id: 'test' }, account_id: null, client_id: null, correlation_id: 'test', causation_id: 'test' } as const

function depsOf(server: TestServer) {
  const { eventStore } = server.capsicum
  return { eventStore, now: () => new Date(), newId: () => crypto.randomUUID(), secrets: new NodeSecrets(server.capsicum.tokens.privateKey) }
}

export interface TestUser {
  readonly userId: string
  readonly accountId: string
  readonly email: string
  readonly password: string
}

export async function createUser(
  server: TestServer,
  options: { email?: string; password?: string; admin?: boolean; firstName?: string } = {},
): Promise<TestUser> {
  const email = options.email ?? `user-${crypto.randomUUID().slice(0, 8)}@example.com`
  const password = options.password ?? 'correct horse battery'
  const result = await registerUser(
    {
      email,
      password,
      firstName: options.firstName ?? 'Test',
      lastName: 'User',
      phoneNumber: null,
      userClassId: null,
      userGroupId: null,
      permissionRoleId: null,
      applicationId: null,
      admin: options.admin ?? false,
    },
    depsOf(server),
    bootstrap,
  )
  if (result.state.status !== 'registered') throw new Error('user not registered')
  if (result.position !== null) await server.capsicum.runner.waitFor(result.position, 5000)
  return { userId: result.state.userId, accountId: result.state.accountId, email, password }
}

export interface TestApp {
  readonly clientId: string
  readonly clientSecret: string
  readonly accountId: string
}

export async function createApp(
  server: TestServer,
  owner: { accountId: string; userId?: string },
  options: { name?: string; management?: boolean } = {},
): Promise<TestApp> {
  const result = await createApplication(
    { accountId: owner.accountId, ownerUserId: owner.userId ?? null, name: options.name ?? 'Test app', description: null, management: options.management ?? false },
    depsOf(server),
    bootstrap,
  )
  if (result.position !== null) await server.capsicum.runner.waitFor(result.position, 5000)
  return { clientId: result.state.status === 'none' ? '' : result.state.applicationId, clientSecret: result.clientSecret, accountId: owner.accountId }
}

export interface TokenAnswer {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown>
}

/** POST /oauth/token, form-encoded unless `json`. */
export async function tokenRequest(
  server: TestServer,
  params: Record<string, string>,
  options: { json?: boolean; basic?: [string, string] } = {},
): Promise<TokenAnswer> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.basic) headers.authorization = `Basic ${Buffer.from(`${options.basic[0]}:${options.basic[1]}`).toString('base64')}`
  headers['content-type'] = options.json ? 'application/json' : 'application/x-www-form-urlencoded'
  const body = options.json ? JSON.stringify(params) : new URLSearchParams(params).toString()
  const response = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers, body })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

export async function passwordGrant(server: TestServer, app: TestApp, user: { email: string; password: string }): Promise<TokenAnswer> {
  return tokenRequest(server, { grant_type: 'password', email: user.email, password: user.password, client_id: app.clientId })
}

export async function clientCredentials(server: TestServer, app: TestApp, extra: Record<string, string> = {}): Promise<string> {
  const answer = await tokenRequest(server, { grant_type: 'client_credentials', ...extra }, { basic: [app.clientId, app.clientSecret] })
  if (answer.status !== 200) throw new Error(`client_credentials failed: ${JSON.stringify(answer.body)}`)
  return answer.body.access_token as string
}

/** A minimal cookie jar for driving the pages with fetch. */
export class CookieJar {
  private readonly cookies = new Map<string, string>()

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', this.header())
    const response = await fetch(url, { ...init, headers, redirect: 'manual' })
    this.store(response)
    return response
  }
}
