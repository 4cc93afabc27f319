/**
 * AES-256-GCM with the server key: `v1.<iv>.<tag>.<ciphertext>` (base64url). The key comes
 * from SECRET_KEY, or from a file (SECRET_KEY_FILE, default $DATA_DIR/secret.key) created
 * with mode 0600 on first start, like the JWT signing key. Losing the key loses every
 * MQTT secret (devices must get rotated ones): back it up with the data directory.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { SecretBox } from '../domain/ports/secret-box.ts'
import type { Config } from './config.ts'

const version = 'v1'

/** 64 hex digits or base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex')
  const decoded = Buffer.from(trimmed, 'base64')
  return decoded.length === 32 ? decoded : undefined
}

function loadOrCreateKey(config: Config): Buffer {
  if (config.secretKey) {
    const key = parseSecretKey(config.secretKey)
    if (!key) throw new Error('SECRET_KEY must be 32 bytes: 64 hex digits or base64')
    return key
  }
  const file = config.secretKeyFile ?? join(config.dataDir, 'secret.key')
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  const key = parseSecretKey(readFileSync(file, 'utf8'))
  if (!key) throw new Error(`${file} does not hold a 32-byte key (64 hex digits)`)
  return key
}

export class AesGcmSecretBox implements SecretBox {
  private constructor(private readonly key: Buffer) {}

  static load(config: Config): AesGcmSecretBox {
    return new AesGcmSecretBox(loadOrCreateKey(config))
  }

  static withKey(key: Buffer): AesGcmSecretBox {
    if (key.length !== 32) throw new Error('AES-256 needs a 32-byte key')
    return new AesGcmSecretBox(key)
  }

  newSecret(): string {
    return randomBytes(20).toString('hex')
  }

  seal(clear: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const ciphertext = Buffer.concat([cipher.update(clear, 'utf8'), cipher.final()])
    return [version, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
  }

  open(sealed: string): string {
    const [v, iv, tag, ciphertext] = sealed.split('.')
    if (v !== version || iv === undefined || tag === undefined || ciphertext === undefined) throw new Error('Not a sealed secret')
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
  }
}
