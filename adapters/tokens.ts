/**
 * Access tokens: RS256 JWTs with a key id, verified with the same key's public half,
 * which is published as a JWKS. The key comes from the environment, or from a file in
 * DATA_DIR that is created on first start.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import jwt from 'jsonwebtoken'
import { UnauthenticatedError } from '../domain/errors.ts'
import { roles, type Principal, type Role } from '../commands/http/auth.ts'
import type { Config } from './config.ts'

export interface TokenClaims {
  readonly sub: string
  readonly account_id: string
  readonly roles: readonly Role[]
  readonly client_id?: string
  readonly user_id?: string
  readonly application_id?: string
  /** granted scopes, space separated (as RFC 9068 has it) */
  readonly scope?: string
}

export interface SignOptions {
  /** seconds; defaults to ACCESS_TOKEN_TTL */
  readonly expiresIn?: number
}

function loadOrCreatePrivateKey(config: Config): KeyObject {
  if (config.jwt.privateKeyPem) return createPrivateKey(config.jwt.privateKeyPem)
  const file = config.jwt.privateKeyFile ?? join(config.dataDir, 'jwt-private.pem')
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    mkdirSync(dirname(file), { recursive: true })
    // 'wx': if another process created it a moment ago, keep theirs.
    try {
      writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  return createPrivateKey(readFileSync(file, 'utf8'))
}

/** RFC 7638 thumbprint: a key id that changes exactly when the key does. */
function thumbprint(jwk: { e?: string; kty?: string; n?: string }): string {
  const canonical = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })
  return createHash('sha256').update(canonical).digest('base64url')
}

/** How many verified tokens are remembered (the oldest are forgotten first). */
const verifiedTokensKept = 10_000

/** How far a token's `iat` may be ahead of our clock (another node's clock). */
const issuedAtSkewMs = 60_000

export class TokenService {
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>()
  readonly keyId: string
  private readonly publicKey: KeyObject
  private readonly publicJwk: Record<string, unknown>

  private constructor(
    /** also the root of the server's derived secrets (adapters/secrets.ts) */
    readonly privateKey: KeyObject,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {
    if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('The JWT signing key must be an RSA key')
    this.publicKey = createPublicKey(privateKey)
    const jwk = this.publicKey.export({ format: 'jwk' })
    this.keyId = thumbprint(jwk)
    this.publicJwk = { ...jwk, kid: this.keyId, alg: 'RS256', use: 'sig' }
  }

  static load(config: Config): TokenService {
    return new TokenService(loadOrCreatePrivateKey(config), config.jwt.issuer, config.jwt.accessTokenTtlSeconds)
  }

  /** lifetime of the access tokens `sign` makes by default, in seconds */
  get accessTokenTtlSeconds(): number {
    return this.ttlSeconds
  }

  /** Every token gets a fresh `jti`. */
  sign(claims: TokenClaims, options: SignOptions = {}): string {
    return jwt.sign({ ...claims }, this.privateKey, {
      algorithm: 'RS256',
      keyid: this.keyId,
      issuer: this.issuer,
      jwtid: randomUUID(),
      expiresIn: options.expiresIn ?? this.ttlSeconds,
    })
  }

  /**
   * A JWS (RS256, our kid) over a document such as an audit export's head. No `iss` and
   * its own `typ`, so it can never pass as an access token (verify demands our issuer).
   */
  signDocument(claims: object): string {
    return jwt.sign({ ...claims }, this.privateKey, { algorithm: 'RS256', keyid: this.keyId, header: { alg: 'RS256', kid: this.keyId, typ: 'capsicum-audit+jwt' } })
  }

  /**
   * The bearer strategy's verifier. A token verified once is remembered until it expires:
   * the same token always verifies the same way, and RS256 verification was most of the
   * cost of a small authenticated GET.
   */
  verify = (token: string): Principal => {
    const cached = this.verified.get(token)
    if (cached && cached.expiresAt > Date.now()) return cached.principal
    const verified = this.verifySignature(token)
    this.verified.delete(token)
    this.verified.set(token, verified)
    if (this.verified.size > verifiedTokensKept) this.verified.delete(this.verified.keys().next().value!)
    return verified.principal
  }

  /** Only RS256, only our key, only our issuer. */
  private verifySignature(token: string): { principal: Principal; expiresAt: number } {
    let payload: jwt.JwtPayload
    try {
      const decoded = jwt.verify(token, this.publicKey, { algorithms: ['RS256'], issuer: this.issuer, complete: true })
      if (decoded.header.kid !== this.keyId) throw new UnauthenticatedError('Token was signed by an unknown key')
      if (typeof decoded.payload === 'string') throw new UnauthenticatedError('Token payload is not a JSON object')
      payload = decoded.payload
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error
      if (error instanceof jwt.TokenExpiredError) throw new UnauthenticatedError('Token has expired', 'token_expired')
      throw new UnauthenticatedError(`Token is not valid: ${(error as Error).message}`)
    }
    // jsonwebtoken checks `exp` only when present: a token that never expires, or says nothing of when it was issued, is refused.
    if (typeof payload.exp !== 'number') throw new UnauthenticatedError('Token has no expiry (exp)', 'invalid_token')
    if (typeof payload.iat !== 'number') throw new UnauthenticatedError('Token has no issue time (iat)', 'invalid_token')
    if (payload.iat * 1000 > Date.now() + issuedAtSkewMs) throw new UnauthenticatedError('Token was issued in the future (iat)', 'invalid_token')
    const accountId = payload.account_id
    if (typeof accountId !== 'string' || accountId === '') throw new UnauthenticatedError('Token names no account')
    const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null)
    const tokenRoles = Array.isArray(payload.roles) ? payload.roles : []
    const principal: Principal = {
      accountId,
      userId: text(payload.user_id),
      applicationId: text(payload.application_id),
      clientId: text(payload.client_id),
      roles: roles.filter((role) => tokenRoles.includes(role)),
      scope: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
    }
    return { principal, expiresAt: payload.exp * 1000 }
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: [this.publicJwk] }
  }
}
