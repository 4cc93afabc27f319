/** Every reactor the server runs. Adding a side effect means adding its reactor here. */
import type { Secrets } from '../../commands/secrets.ts'
import type { Mailer } from './mailer.ts'
import { passwordResetMail } from './password-reset-mail.ts'
import type { Reactor } from './reactor-runner.ts'

export interface ReactorDeps {
  readonly mailer: Mailer
  readonly secrets: Secrets
  readonly publicUrl: () => string
  readonly now: () => Date
}

export function allReactors(deps: ReactorDeps): Reactor[] {
  return [passwordResetMail(deps)]
}
