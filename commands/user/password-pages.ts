/**
 * The pages of the password reset: ask for the link (/forgot-password), and follow it
 * (/reset-password?token=...) to choose a new password. They use the same use cases as
 * POST /password/forgot and POST /password/reset, and answer the same whether or not the
 * address is known.
 */
import { Router, type RequestHandler } from 'express'
import { CapsicumError } from '../../domain/errors.ts'
import { anonymous, requestMetadata } from '../auth-deps.ts'
import type { RouteDeps } from '../route-deps.ts'
import { csrfToken, render, requireCsrf } from '../oauth/web.ts'
import { requestPasswordReset, resetPassword } from './password-reset.ts'
import { minPasswordLength } from './schemas.ts'

export function passwordPages(deps: RouteDeps): Router {
  const router = Router()
  const csrf = requireCsrf(deps.secrets)

  router.get('/forgot-password', (req, res) => {
    render(res, 'forgot-password', 'Forgot your password?', { csrf: csrfToken(req, res, deps.secrets) })
  })
  const forgot: RequestHandler = async (req, res) => {
    const email = (req.body as Record<string, unknown>).email
    if (typeof email !== 'string' || email.trim() === '' || email.length > 254) {
      return render(res, 'forgot-password', 'Forgot your password?', { csrf: csrfToken(req, res, deps.secrets), error: 'Enter your e-mail address' }, 400)
    }
    await requestPasswordReset(email, deps, requestMetadata(req, { actor: anonymous, accountId: null, clientId: null }))
    render(res, 'forgot-password', 'Forgot your password?', { csrf: csrfToken(req, res, deps.secrets), sent: true })
  }
  router.post('/forgot-password', csrf, forgot)

  router.get('/reset-password', (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : ''
    render(res, 'reset-password', 'Choose a new password', { csrf: csrfToken(req, res, deps.secrets), token, minLength: minPasswordLength })
  })
  const reset: RequestHandler = async (req, res) => {
    const body = req.body as Record<string, unknown>
    const token = typeof body.token === 'string' ? body.token : ''
    const password = typeof body.password === 'string' ? body.password : ''
    const again = (error: string): void =>
      render(res, 'reset-password', 'Choose a new password', { csrf: csrfToken(req, res, deps.secrets), token, error, minLength: minPasswordLength }, 400)
    if (password.length < minPasswordLength || password.length > 1024) return again(`The password must be at least ${minPasswordLength} characters`)
    try {
      await resetPassword(token, password, deps, requestMetadata(req, { actor: anonymous, accountId: null, clientId: null }))
    } catch (error) {
      if (error instanceof CapsicumError && error.kind === 'invalid') return again('This link is no longer good: it was used, or it is more than an hour old. Ask for a new one.')
      throw error
    }
    render(res, 'reset-password', 'Password changed', { done: true })
  }
  router.post('/reset-password', csrf, reset)

  return router
}
