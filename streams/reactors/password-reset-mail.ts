/**
 * The auth server's e-mails. PasswordResetRequested → an e-mail with the reset link. The token is recomputed from
 * the event's ids with the server key (it is in no event); a request older than its
 * expiry is not mailed (a late redelivery would only send a dead link).
 * SignUpAttempted → a notice to the owner of an address someone tried to sign up with
 * (the sign-up answered as if it worked, so it reveals nothing).
 */
import { readFileSync } from 'node:fs'
import Handlebars from 'handlebars'
import type { PasswordResetRequested, SignUpAttempted } from '../../domain/user/user.ts'
import type { Secrets } from '../../domain/ports/secrets.ts'
import { resetTokenFor } from '../../commands/user/password-reset.ts'
import type { Mailer } from '../../domain/ports/mailer.ts'
import { reactor } from './reactor-runner.ts'

const view = (name: string, options: { noEscape?: boolean } = {}) =>
  Handlebars.compile(readFileSync(new URL(`./views/${name}`, import.meta.url), 'utf8'), options)
/** plain text: nothing to escape (HTML escaping would mangle the link) */
const text = view('password-reset.txt.hbs', { noEscape: true })
const html = view('password-reset.html.hbs')
const attemptText = view('sign-up-attempt.txt.hbs', { noEscape: true })
const attemptHtml = view('sign-up-attempt.html.hbs')

export interface PasswordResetMailDeps {
  readonly mailer: Mailer
  readonly secrets: Secrets
  /** where people reach the pages, e.g. https://auth.example.com */
  readonly publicUrl: () => string
  readonly now: () => Date
}

export function passwordResetMail(deps: PasswordResetMailDeps) {
  return reactor<PasswordResetRequested>({
    name: 'passwordResetMail',
    canHandle: ['PasswordResetRequested'],
    async handle(event) {
      if (Date.parse(event.data.expiresAt) <= deps.now().getTime()) return
      const token = resetTokenFor(deps.secrets, event.data.userId, event.data.resetId)
      const link = `${deps.publicUrl().replace(/\/+$/, '')}/reset-password?token=${encodeURIComponent(token)}`
      const data = { firstName: event.data.firstName, email: event.data.email, link }
      await deps.mailer.send({
        to: event.data.email,
        subject: 'Reset your Capsicum password',
        text: text(data),
        html: html(data),
        idempotencyKey: event.id,
      })
    },
  })
}

export function signUpAttemptMail(deps: PasswordResetMailDeps) {
  return reactor<SignUpAttempted>({
    name: 'signUpAttemptMail',
    canHandle: ['SignUpAttempted'],
    async handle(event) {
      const base = deps.publicUrl().replace(/\/+$/, '')
      const data = { firstName: event.data.firstName, email: event.data.email, loginLink: `${base}/login`, resetLink: `${base}/forgot-password` }
      await deps.mailer.send({
        to: event.data.email,
        subject: 'Someone tried to sign up with your address',
        text: attemptText(data),
        html: attemptHtml(data),
        idempotencyKey: event.id,
      })
    },
  })
}
