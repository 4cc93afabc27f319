/**
 * The Secrets port on node's crypto: scrypt for passwords (N=2^15, r=8, p=1, 16-byte salt,
 * 32-byte key: about 32 MiB and a few tens of milliseconds per check), SHA-256 for
 * high-entropy tokens, HMAC-SHA256 under a key derived from the JWT signing key for
 * derived tokens and CSRF values.
 */
import { createHash, createHmac, hkdfSync, randomBytes, scrypt, timingSafeEqual, type KeyObject } from 'node:crypto'
import type { Secrets } from '../domain/ports/secrets.ts'

const cost = { N: 2 ** 15, r: 8, p: 1 }
const keyLength = 32

function scryptAsync(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyLength, { ...params, maxmem: 128 * params.N * params.r * 2 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  )
}

export class NodeSecrets implements Secrets {
  private readonly macKey: Buffer
  private readonly dummyHash: Promise<string>

  /** `serverKey`: the JWT signing key; the MAC key is derived from it (HKDF), never the key itself */
  constructor(serverKey: KeyObject) {
    const material = serverKey.export({ type: 'pkcs8', format: 'der' })
    this.macKey = Buffer.from(hkdfSync('sha256', material, 'capsicum', 'capsicum derived tokens v1', 32))
    this.dummyHash = this.hashPassword(randomBytes(16).toString('hex'))
  }

  async hashPassword(password: string): Promise<string> {
    const salt = randomBytes(16)
    const key = await scryptAsync(password, salt, cost)
    return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
  }

  async verifyPassword(password: string, hash: string): Promise<boolean> {
    const parts = hash.split('$')
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false
    const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number]
    if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return false
    const expected = Buffer.from(parts[5]!, 'base64url')
    const key = await scryptAsync(password, Buffer.from(parts[4]!, 'base64url'), { N, r, p })
    return expected.length === key.length && timingSafeEqual(expected, key)
  }

  async burnPasswordCheck(password: string): Promise<void> {
    await this.verifyPassword(password, await this.dummyHash)
  }

  randomToken(bytes = 32): string {
    return randomBytes(bytes).toString('base64url')
  }

  hashToken(token: string): string {
    return createHash('sha256').update(token).digest('base64url')
  }

  sameHash(a: string, b: string): boolean {
    const left = Buffer.from(a)
    const right = Buffer.from(b)
    return left.length === right.length && timingSafeEqual(left, right)
  }

  deriveToken(purpose: string, id: string): string {
    return createHmac('sha256', this.macKey).update(`${purpose}\u0000${id}`).digest('base64url')
  }
}
