/**
 * What the pages share: handlebars views (commands/oauth/views, compiled once), cookies,
 * CSRF tokens, and the SSO session cookie.
 *
 * CSRF: a random `capsicum_csrf` cookie (httpOnly, SameSite=Lax) and, in every form,
 * a value derived from it with the server key; a POST must bring both, matching.
 * SSO: `capsicum_sso` = `<sessionId>.<secret>`, httpOnly, SameSite=Lax, Secure when
 * the request came over TLS, one week.
 */
import { readFileSync, readdirSync } from 'node:fs'
import Handlebars from 'handlebars'
import type { Request, RequestHandler, Response } from 'express'
import { ssoSessionDecider, ssoSessionStreamName, ssoSessionTtlMs, sessionUser } from '../../domain/oauth/sso-session.ts'
import { userDecider, userStreamName } from '../../domain/user/user.ts'
import type { EventMetadata, EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../handle-command.ts'
import { loadState } from '../load-state.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
import type { RegisteredUser } from './credentials.ts'
import type { Transaction } from './oauth-server.ts'
import { splitToken } from './issue-tokens.ts'

const viewsDir = new URL('./views/', import.meta.url)
const templates = new Map<string, HandlebarsTemplateDelegate>()
for (const file of readdirSync(viewsDir)) {
  if (file.endsWith('.hbs')) templates.set(file.slice(0, -4), Handlebars.compile(readFileSync(new URL(file, viewsDir), 'utf8'), { strict: false }))
}

export function render(res: Response, view: string, title: string, data: Record<string, unknown>, status = 200): void {
  const template = templates.get(view)
  if (!template) throw new Error(`No view ${view}`)
  const body = template(data)
  res.status(status)
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
  res.setHeader('Referrer-Policy', 'no-referrer')
  res.send(templates.get('layout')!({ title, body }))
}

export function renderError(res: Response, status: number, heading: string, message: string): void {
  render(res, 'error', heading, { heading, message }, status)
}

export function cookiesOf(req: Request): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const index = part.indexOf('=')
    if (index < 1) continue
    const name = part.slice(0, index).trim()
    if (!cookies.has(name)) {
      try {
        cookies.set(name, decodeURIComponent(part.slice(index + 1).trim()))
      } catch {
        // a malformed cookie is no cookie
      }
    }
  }
  return cookies
}

const csrfCookie = 'capsicum_csrf'
export const ssoCookie = 'capsicum_sso'

/** The form value for this browser, setting the cookie it is bound to when missing. */
export function csrfToken(req: Request, res: Response, secrets: Secrets): string {
  let seed = cookiesOf(req).get(csrfCookie)
  if (!seed || !/^[A-Za-z0-9_-]{43}$/.test(seed)) {
    seed = secrets.randomToken()
    res.cookie(csrfCookie, seed, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' })
    // A second page rendered in this request must see the same seed.
    req.headers.cookie = `${csrfCookie}=${seed}${req.headers.cookie ? `; ${req.headers.cookie}` : ''}`
  }
  return secrets.deriveToken('csrf', seed)
}

export function csrfValid(req: Request, secrets: Secrets): boolean {
  const seed = cookiesOf(req).get(csrfCookie)
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf
  return typeof seed === 'string' && typeof sent === 'string' && secrets.sameHash(sent, secrets.deriveToken('csrf', seed))
}

export function requireCsrf(secrets: Secrets): RequestHandler {
  return (req, res, next) => {
    if (csrfValid(req, secrets)) return next()
    renderError(res, 403, 'This form has expired', 'The form was not sent from this site, or it is too old. Go back, reload the page and try again.')
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    /** the user the SSO cookie stands for, if any */
    ssoUser?: RegisteredUser
    /** oauth2orize's transaction, between the authorize step and the decision */
    oauth2?: Transaction
  }
}

interface SessionDeps {
  readonly eventStore: EventStore
  readonly now: () => Date
  readonly newId: () => string
  readonly secrets: Secrets
}

/** Finds the user behind the SSO cookie (a live session under the user's current credentials). */
export function ssoUserLoader(deps: SessionDeps): RequestHandler {
  return async (req, _res, next) => {
    const parts = splitToken(cookiesOf(req).get(ssoCookie))
    if (!parts) return next()
    const session = await loadState(ssoSessionDecider, ssoSessionStreamName(parts.id), deps.eventStore)
    if (session.status !== 'active') return next()
    const user = await loadState(userDecider, userStreamName(session.userId), deps.eventStore)
    if (user.status !== 'registered') return next()
    const userId = sessionUser(session, deps.secrets.hashToken(`${parts.id}.${parts.secret}`), () => user.credentialsVersion, deps.now())
    if (userId) req.ssoUser = user
    next()
  }
}

export async function startSsoSession(req: Request, res: Response, user: RegisteredUser, deps: SessionDeps, metadata: Omit<EventMetadata, 'time'>) {
  const sessionId = deps.newId()
  const value = `${sessionId}.${deps.secrets.randomToken()}`
  await handleCommand(
    ssoSessionDecider,
    ssoSessionStreamName(sessionId),
    {
      type: 'StartSsoSession',
      data: { sessionId, userId: user.userId, secretHash: deps.secrets.hashToken(value), credentialsVersion: user.credentialsVersion },
    },
    { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: { ...metadata, actor: { type: 'user', id: user.userId }, account_id: user.accountId } },
  )
  res.cookie(ssoCookie, value, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/', maxAge: ssoSessionTtlMs })
  req.ssoUser = user
}

export async function endSsoSession(req: Request, res: Response, deps: SessionDeps, metadata: Omit<EventMetadata, 'time'>) {
  const value = cookiesOf(req).get(ssoCookie)
  const parts = splitToken(value)
  if (parts && value) {
    await handleCommand(
      ssoSessionDecider,
      ssoSessionStreamName(parts.id),
      { type: 'EndSsoSession', data: { sessionId: parts.id, secretHash: deps.secrets.hashToken(value) } },
      { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata },
    )
  }
  res.clearCookie(ssoCookie, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' })
}

/**
 * Where a page may send the browser after login: only our own authorize step or the
 * console, never another site (an open redirect).
 */
export function safeReturnTo(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 4000) return null
  if (value === '/console') return value
  return /^\/(oauth\/authorize)?\?[^\\\s]*$/.test(value) ? value : null
}
