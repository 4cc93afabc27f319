/**
 * The Mailer port over SMTP (nodemailer, from SMTP_URL). Without SMTP_URL nothing is
 * sent: the message, reset link included, is written to the log, and the log line says
 * so, so a single-machine install still lets an operator hand a link to a user.
 */
import type { Logger } from 'pino'
import type { Transporter } from 'nodemailer'
import type { MailMessage, Mailer } from '../domain/ports/mailer.ts'
import type { Config } from './config.ts'

export function createMailer(config: Config, logger: Logger): Mailer {
  const { smtpUrl, from } = config.mail
  if (!smtpUrl) {
    logger.info('SMTP_URL is not set: e-mails (password reset links) are written to this log instead of being sent')
    return {
      async send(message: MailMessage) {
        logger.warn(
          { mail: { to: message.to, subject: message.subject, messageId: message.idempotencyKey, text: message.text } },
          'SMTP_URL is not set: this e-mail was NOT sent; its text, with the link, is here in the log',
        )
      },
      close() {},
    }
  }
  // Loaded only when mail is configured: the CLI and mail-less servers start faster.
  let transport: Promise<Transporter> | undefined
  const transportOf = (): Promise<Transporter> =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport(smtpUrl)))
  return {
    async send(message: MailMessage) {
      await (await transportOf()).sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        // The causing event's id: a redelivered message carries the same Message-ID.
        messageId: `<${message.idempotencyKey}@capsicum>`,
      })
      logger.info({ to: message.to, messageId: message.idempotencyKey }, 'e-mail sent')
    },
    close() {
      void transport?.then((t) => t.close())
    },
  }
}
