/**
 * The secrets port: slow password hashing, random tokens, and fast hashes of
 * high-entropy secrets (tokens, client secrets) for lookup and comparison. The core
 * declares it; adapters/secrets.ts implements it with node's crypto. Nothing here ever
 * puts a clear secret into an event: only what `hashPassword` and `hashToken` return.
 */
export interface Secrets {
  /** a slow, salted hash (self-describing, so its parameters can change later) */
  hashPassword(password: string): Promise<string>
  /** constant-time; false for a malformed hash */
  verifyPassword(password: string, hash: string): Promise<boolean>
  /** spends the time of one verification, for answers that must not reveal whether a user exists */
  burnPasswordCheck(password: string): Promise<void>
  /** a fresh random secret, URL-safe (256 bits unless told) */
  randomToken(bytes?: number): string
  /** a fast one-way hash of a high-entropy secret */
  hashToken(token: string): string
  /** constant-time equality of two hashes */
  sameHash(a: string, b: string): boolean
  /**
   * A secret derived from the server's key and a public id: whoever holds the key (the
   * server, the mail reactor) can recompute it; an event holding the id reveals nothing.
   */
  deriveToken(purpose: string, id: string): string
}
