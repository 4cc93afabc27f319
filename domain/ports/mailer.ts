/** The mail port: adapters/mail.ts sends over SMTP, or writes to the log when no SMTP_URL is set. */
export interface MailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string
  /** the idempotency key: the causing event's id, as the Message-ID */
  readonly idempotencyKey: string
}

export interface Mailer {
  send(message: MailMessage): Promise<void>
  close(): void
}
