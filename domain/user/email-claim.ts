/**
 * E-mail uniqueness without a read model: each address has its own stream
 * (`useremail-<address>`), and the first user to claim it owns it. The append's
 * expected revision makes two concurrent sign-ups with one address impossible.
 *
 * A claim whose user was never written (a crash between the two appends) is an orphan;
 * the caller, having checked that the user's stream is empty, may take it over.
 */
import { unreachable, type Command, type Decider, type DomainEvent } from '../decider.ts'
import { ConflictError } from '../errors.ts'

export type EmailClaimed = DomainEvent<
  'EmailClaimed',
  { readonly email: string; readonly userId: string; readonly claimedAt: string }
>

export type EmailClaimEvent = EmailClaimed

export type ClaimEmail = Command<
  'ClaimEmail',
  {
    readonly email: string
    readonly userId: string
    /** set when the caller found that this user, the current owner, does not exist */
    readonly orphanOf?: string
  }
>

export type EmailClaimCommand = ClaimEmail

export type EmailClaimState =
  | { readonly status: 'free' }
  | { readonly status: 'claimed'; readonly email: string; readonly userId: string }

/** Addresses are compared without case. */
export const normalizeEmail = (email: string): string => email.trim().toLowerCase()

export const emailClaimStreamName = (email: string): string => `useremail-${normalizeEmail(email)}`

export const emailClaimDecider: Decider<EmailClaimState, EmailClaimCommand, EmailClaimEvent> = {
  initialState: { status: 'free' },

  decide(command, state, now) {
    switch (command.type) {
      case 'ClaimEmail': {
        const claim: EmailClaimed = {
          type: 'EmailClaimed',
          data: { email: normalizeEmail(command.data.email), userId: command.data.userId, claimedAt: now.toISOString() },
        }
        if (state.status === 'free') return [claim]
        if (state.userId === command.data.userId) return []
        if (command.data.orphanOf !== undefined && command.data.orphanOf === state.userId) return [claim]
        throw new ConflictError('A user with this e-mail already exists', 'email_taken', [
          { field: 'email', problem: 'is already registered' },
        ])
      }
      default:
        return unreachable(command.type)
    }
  },

  evolve(_state, event) {
    switch (event.type) {
      case 'EmailClaimed':
        return { status: 'claimed', email: event.data.email, userId: event.data.userId }
      default:
        return unreachable(event.type)
    }
  },
}
