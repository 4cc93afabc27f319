/** The audit export's signing port (adapters/tokens.ts signs with the access-token key). */
export interface AuditSigner {
  /** a compact JWS of the claims (the chain's head: commands/audit/chain.ts), with the key's `kid` */
  sign(claims: object): string
}
