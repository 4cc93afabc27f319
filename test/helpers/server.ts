/**
 * Starts the real server in-process on port 0 with its own data directory, and talks
 * real HTTP to it. Every response is checked against the published OpenAPI document.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { startCapsicum, type Capsicum } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import type { Role } from '../../commands/http/auth.ts'
import { OpenApiChecker } from './openapi.ts'
import type { ReadingHook } from '../../domain/ports/reading-hook.ts'
import type { Logger } from 'pino'

export interface ApiResponse<B = unknown> {
  readonly status: number
  readonly headers: Headers
  readonly body: B
  readonly text: string
}

export interface RequestOptions {
  readonly token?: string
  readonly body?: unknown
  /** sent as-is instead of JSON */
  readonly rawBody?: string
  /** sent as multipart/form-data (fetch sets the boundary) */
  readonly form?: FormData
  readonly headers?: Record<string, string>
}

export interface TestServer {
  readonly capsicum: Capsicum
  readonly url: string
  readonly dataDir: string
  tokenFor(accountId: string, options?: { roles?: Role[]; userId?: string }): string
  api<B = unknown>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<B>>
  close(): Promise<void>
}

/** A fresh directory, removed when the test ends. */
export function tempDataDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export async function startTestServer(
  t: Test,
  options: { dataDir?: string; env?: Record<string, string>; now?: () => Date; hooks?: readonly ReadingHook[]; logger?: Logger } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir(t)
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', LOG_LEVEL: 'silent', RATE_LIMITS: 'off', ...options.env })
  const capsicum = await startCapsicum(config, {
    ...(options.now ? { now: options.now } : {}),
    ...(options.hooks ? { hooks: options.hooks } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  })
  t.teardown(() => capsicum.close())
  const checker = new OpenApiChecker((await (await fetch(`${capsicum.url}/openapi.json`)).json()) as never)

  const api = async <B>(method: string, path: string, request: RequestOptions = {}): Promise<ApiResponse<B>> => {
    const headers: Record<string, string> = { ...request.headers }
    if (request.token) headers.authorization = `Bearer ${request.token}`
    let body: string | FormData | undefined
    if (request.form !== undefined) body = request.form
    else if (request.rawBody !== undefined) body = request.rawBody
    else if (request.body !== undefined) {
      body = JSON.stringify(request.body)
      headers['content-type'] ??= 'application/json'
    }
    const response = await fetch(`${capsicum.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
    const text = await response.text()
    const contentType = response.headers.get('content-type')
    // NDJSON stays text (the checker reads it line by line)
    const parsed = contentType?.includes('json') && !contentType.includes('ndjson') && text ? (JSON.parse(text) as B) : (text as B)
    const urlPath = new URL(path, capsicum.url).pathname
    // The platform API and the auth server's JSON endpoints (the pages are HTML, not in the document).
    if (urlPath.startsWith('/v1.1/') || /^\/(users|applications|password)(\/|$)/.test(urlPath)) {
      const problems = checker.check(method, urlPath, response.status, contentType, parsed)
      t.strictSame(problems, [], `${method} ${path} → ${response.status} matches the OpenAPI document`)
    }
    return { status: response.status, headers: response.headers, body: parsed, text }
  }

  return {
    capsicum,
    url: capsicum.url,
    dataDir,
    tokenFor: (accountId, o = {}) =>
      capsicum.tokens.sign({
        sub: o.userId ?? `user-of-${accountId}`,
        account_id: accountId,
        roles: o.roles ?? [],
        user_id: o.userId ?? `user-of-${accountId}`,
      }),
    api,
    close: () => capsicum.close(),
  }
}
