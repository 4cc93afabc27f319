/**
 * The console: after login, a person creates an application, sees its App Key and App
 * Secret, adds redirect URIs, and reads how devices get MQTT credentials. The new App
 * Secret stays on the page (sealed in a short-lived httpOnly cookie bound to the user)
 * until the person confirms they copied it; only its hash is recorded. Plain HTML
 * forms, CSRF-protected. The dashboard (/dashboard/) is linked from here.
 */
import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express'
import { z } from 'zod'
import { applicationDecider, applicationStreamName } from '../../domain/application/application.ts'
import { CapsicumError } from '../../domain/errors.ts'
import { applicationsOfAccount, toApplicationView } from '../../projections/applications.ts'
import { createApplication } from '../application/create-application.ts'
import { createMqttClient } from '../client/create-mqtt-client.ts'
import { requestMetadata } from '../auth-deps.ts'
import { handleCommand } from '../handle-command.ts'
import type { RouteDeps } from '../route-deps.ts'
import { cookiesOf, csrfToken, render, renderError, requireCsrf, ssoUserLoader } from './web.ts'

/** Where a new App Secret waits for the person to confirm they copied it. */
const newSecretsCookie = 'capsicum_new_app_secrets'
const newSecretsCookieOptions = { httpOnly: true, sameSite: 'strict', path: '/console' } as const
const newSecretsTtlMs = 60 * 60 * 1000
interface NewSecret {
  readonly name: string
  readonly clientId: string
  readonly clientSecret: string
}

export function consoleRoutes(deps: RouteDeps): Router {
  const router = Router()
  const csrf = requireCsrf(deps.secrets)
  const loadSsoUser = ssoUserLoader(deps)
  const requireLogin: RequestHandler = (req, res, next) => {
    if (req.ssoUser) return next()
    res.redirect(303, '/login?return_to=%2Fconsole')
  }
  const baseUrlOf = (req: Request): string => `${req.protocol}://${req.get('host') ?? 'localhost'}`
  const metadataOf = (req: Request) =>
    requestMetadata(req, { actor: { type: 'user', id: req.ssoUser!.userId }, accountId: req.ssoUser!.accountId, clientId: null })

  /** The new secrets this user has not yet confirmed copying (a cookie sealed with the server key). */
  const pendingSecrets = (req: Request): NewSecret[] => {
    const sealed = cookiesOf(req).get(newSecretsCookie)
    if (!sealed) return []
    try {
      const kept = JSON.parse(deps.secretBox.open(sealed)) as { userId: string; until: number; secrets: NewSecret[] }
      return kept.userId === req.ssoUser!.userId && kept.until > deps.now().getTime() ? kept.secrets : []
    } catch {
      return []
    }
  }
  const keepSecrets = (req: Request, res: Response, secrets: NewSecret[]): void => {
    if (secrets.length === 0) return void res.clearCookie(newSecretsCookie, { ...newSecretsCookieOptions, secure: req.secure })
    const sealed = deps.secretBox.seal(JSON.stringify({ userId: req.ssoUser!.userId, until: deps.now().getTime() + newSecretsTtlMs, secrets }))
    res.cookie(newSecretsCookie, sealed, { ...newSecretsCookieOptions, secure: req.secure, maxAge: newSecretsTtlMs })
  }

  const page = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200): Promise<void> => {
    const user = req.ssoUser!
    const applications = [
      ...(await applicationsOfAccount(deps.readStore, user.accountId, 'active')),
      ...(await applicationsOfAccount(deps.readStore, user.accountId, 'inactive')),
      ...(await applicationsOfAccount(deps.readStore, user.accountId, 'blocked')),
    ].map(toApplicationView)
    render(res, 'console', 'Console', {
      csrf: csrfToken(req, res, deps.secrets),
      email: user.email,
      accountId: user.accountId,
      applications,
      baseUrl: baseUrlOf(req),
      created: pendingSecrets(req),
      ...extra,
    }, status)
  }

  const show: RequestHandler = (req, res) => page(req, res)
  router.get('/console', loadSsoUser, requireLogin, show)

  const newApp = z.object({ name: z.string().trim().min(1).max(255), description: z.string().trim().max(1000).optional() })
  const create: RequestHandler = async (req, res) => {
    const parsed = newApp.safeParse(req.body)
    if (!parsed.success) return page(req, res, { error: 'An application needs a name (at most 255 characters)' }, 400)
    const user = req.ssoUser!
    const result = await createApplication(
      { accountId: user.accountId, ownerUserId: user.userId, name: parsed.data.name, description: parsed.data.description || null, management: false },
      deps,
      metadataOf(req),
    )
    await deps.readYourWrites(result.position)
    if (result.state.status === 'none') throw new Error('application was not created')
    const created = [{ name: result.state.name, clientId: result.state.applicationId, clientSecret: result.clientSecret }, ...pendingSecrets(req)].slice(0, 5)
    keepSecrets(req, res, created)
    await page(req, res, { created }, 201)
  }
  router.post('/console/applications', csrf, loadSsoUser, requireLogin, create)

  const secretCopied: RequestHandler = (req, res) => {
    const clientId = (req.body as Record<string, unknown>).client_id
    keepSecrets(req, res, pendingSecrets(req).filter((s) => s.clientId !== clientId))
    res.redirect(303, '/console')
  }
  router.post('/console/applications/secret-copied', csrf, loadSsoUser, requireLogin, secretCopied)

  const addRedirect: RequestHandler = async (req, res) => {
    const user = req.ssoUser!
    const applicationId = z.uuid().safeParse(req.params.applicationId)
    const redirectUri = (req.body as Record<string, unknown>).redirect_uri
    if (!applicationId.success || typeof redirectUri !== 'string') return page(req, res, { error: 'A redirect URI is required' }, 400)
    try {
      const result = await handleCommand(
        applicationDecider,
        applicationStreamName(applicationId.data),
        {
          type: 'AddRedirectUri',
          data: { applicationId: applicationId.data, requester: { accountId: user.accountId, admin: false }, redirectId: deps.newId(), redirectUri: redirectUri.trim() },
        },
        { eventStore: deps.eventStore, now: deps.now, newId: deps.newId, metadata: metadataOf(req) },
      )
      await deps.readYourWrites(result.position)
    } catch (error) {
      if (error instanceof CapsicumError && (error.kind === 'invalid' || error.kind === 'not_found' || error.kind === 'conflict')) {
        return page(req, res, { error: error.message }, error.kind === 'not_found' ? 404 : 400)
      }
      throw error
    }
    res.redirect(303, '/console')
  }
  /** The account's MQTT credentials: what POST /v1.1/clients gives a user's token (created once, then the same). */
  const mqtt: RequestHandler = async (req, res) => {
    const user = req.ssoUser!
    const result = await createMqttClient(user.accountId, null, deps.secretBox, {
      eventStore: deps.eventStore,
      now: deps.now,
      newId: deps.newId,
      metadata: metadataOf(req),
    })
    await deps.readYourWrites(result.position)
    if (result.state.status !== 'created') throw new Error('MQTT credentials were not created')
    await page(req, res, { mqtt: { username: result.state.clientId, password: deps.secretBox.open(result.state.sealedSecret) } })
  }
  const consoleErrors: ErrorRequestHandler = (error, req, res, _next) => {
    req.log?.error({ err: error }, 'console failed')
    renderError(res, 500, 'Something went wrong', 'Something went wrong on our side; it has been logged. Try again later.')
  }
  router.post('/console/applications/:applicationId/redirects', csrf, loadSsoUser, requireLogin, addRedirect, consoleErrors)
  router.post('/console/mqtt', csrf, loadSsoUser, requireLogin, mqtt, consoleErrors)

  return router
}
