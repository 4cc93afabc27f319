/**
 * Ids that are a function of what they name (an account's MQTT credentials, the batch an
 * Idempotency-Key stands for), so that asking twice lands on the same stream: UUID-shaped
 * (version 8, RFC 9562) from a SHA-256 of the parts.
 */
import { createHash } from 'node:crypto'

export function deterministicId(namespace: string, ...parts: readonly string[]): string {
  const hash = createHash('sha256').update(JSON.stringify([namespace, ...parts])).digest()
  hash[6] = (hash[6]! & 0x0f) | 0x80
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.subarray(0, 16).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** A stable digest of a request, to tell a retry from another request under the same key. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url')
}
