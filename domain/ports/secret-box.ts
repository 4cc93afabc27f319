/**
 * The port through which secrets that must be shown again (the MQTT clear_secret) are
 * kept: sealed with the server key before they enter a command, an event or a read
 * model, and opened only to answer the caller who owns them. The adapter is
 * adapters/secret-box.ts (AES-256-GCM).
 */
export interface SecretBox {
  /** a fresh random secret, in clear (40 hex digits, as the API text shows) */
  newSecret(): string
  seal(clear: string): string
  /** throws when the blob was not sealed with this key or was tampered with */
  open(sealed: string): string
}
