/** Every reactor the server runs. Adding a side effect means adding its reactor here. */
import type { Secrets } from '../../domain/ports/secrets.ts'
import type { Mailer } from '../../domain/ports/mailer.ts'
import { passwordResetMail, signUpAttemptMail } from './password-reset-mail.ts'
import type { Reactor } from './reactor-runner.ts'
import { deliveryReactors, type DeliveryReactorDeps } from './deliveries.ts'
import { deviceCommands, type DeviceCommandsDeps } from './device-commands.ts'

export interface ReactorDeps extends DeliveryReactorDeps {
  readonly mailer: Mailer
  readonly secrets: Secrets
  readonly publicUrl: () => string
  readonly now: () => Date
  /** absent on a node that has no MQTT broker to publish commands through */
  readonly deviceCommands?: DeviceCommandsDeps | undefined
}

export function allReactors(deps: ReactorDeps): Reactor[] {
  return [passwordResetMail(deps), signUpAttemptMail(deps), ...deliveryReactors(deps), ...(deps.deviceCommands ? [deviceCommands(deps.deviceCommands)] : [])]
}
