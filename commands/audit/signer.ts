/** The audit export's signing port (adapters/tokens.ts signs with the access-token key). */
import type { AuditHeadClaims } from './chain.ts'

export interface AuditSigner {
  sign(claims: AuditHeadClaims): string
}
