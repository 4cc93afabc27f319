/**
 * The tamper-evident audit export's format (`capsicum-audit-export/1`), shared by the
 * server that writes it and `capsicum audit verify` that checks it offline.
 *
 * One JSON object per line (NDJSON), each in RFC 8785 canonical form (JCS):
 *
 *   line 1       header: what was asked (account, thing, [from, to)), when it was made
 *   lines 2..n+1 one event each: the event with its metadata, secrets masked as in the history
 *   line n+2     signature: a JWS (RS256, the server's signing key, its `kid` in
 *                /.well-known/jwks.json) over the head of the chain
 *
 * Every line but the signature carries `prev_hash` (the previous line's `hash`; the header's
 * is 64 zeros) and `hash`: SHA-256, hex, of the canonical form of the line without its
 * `hash` member (so `prev_hash` is hashed too). The signed head names the header's hash,
 * the last line's hash, the number of events, the first and last log positions and the
 * range: dropping, adding or reordering any line, the first and the last included, breaks
 * either a link or the head.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import canonicalize from 'canonicalize'
import jwt from 'jsonwebtoken'

export const auditExportFormat = 'capsicum-audit-export/1'
export const genesisHash = '0'.repeat(64)

export interface AuditHeaderLine {
  readonly type: 'header'
  readonly format: typeof auditExportFormat
  readonly account_id: string
  readonly thing_id: string | null
  /** inclusive, ISO 8601 */
  readonly from: string
  /** exclusive, ISO 8601 */
  readonly to: string
  readonly generated_at: string
  readonly prev_hash: string
  readonly hash: string
}

export interface AuditEventLine {
  readonly type: 'event'
  /** 1 for the first event */
  readonly seq: number
  readonly event: {
    readonly id: string
    readonly stream: string
    readonly revision: number
    readonly position: number
    readonly type: string
    readonly data: unknown
    readonly metadata: unknown
  }
  readonly prev_hash: string
  readonly hash: string
}

/** What the signature line's JWS says about the chain. */
export interface AuditHeadClaims {
  readonly format: typeof auditExportFormat
  readonly account_id: string
  readonly thing_id: string | null
  readonly from: string
  readonly to: string
  readonly count: number
  readonly header_hash: string
  readonly head_hash: string
  readonly first_position: number | null
  readonly last_position: number | null
}

export interface AuditSignatureLine {
  readonly type: 'signature'
  readonly jws: string
}

/** SHA-256 (hex) of the canonical form of the line without its `hash`. */
export function lineHash(line: object): string {
  const { hash: _hash, ...rest } = line as { hash?: unknown }
  return createHash('sha256').update(canonical(rest), 'utf8').digest('hex')
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** canonicalize() throws on a lone surrogate, which is rare: only then is the value walked. */
function canonical(value: unknown): string {
  try {
    return canonicalize(value) ?? 'null'
  } catch {
    return canonicalize(wellFormed(value)) ?? 'null'
  }
}

/**
 * RFC 8785 refuses lone UTF-16 surrogates (a JSON body may carry one as `\\ud800`): the
 * export shows them as U+FFFD, the replacement character.
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(loneSurrogate, '\uFFFD')
  if (Array.isArray(value)) return value.map(wellFormed)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [wellFormed(key), wellFormed(inner)]))
}

/** The line, hashed, as canonical JSON text (without the newline). */
function sealed<L extends { readonly hash: string }>(line: Omit<L, 'hash'>): { text: string; hash: string } {
  const hash = lineHash(line)
  return { text: canonical({ ...line, hash }), hash }
}

/** Builds the lines of one export in order; `sign` turns the head claims into a JWS. */
export class AuditChainWriter {
  private previous = genesisHash
  private headerHash = genesisHash
  private count = 0
  private firstPosition: number | null = null
  private lastPosition: number | null = null

  constructor(private readonly scope: Pick<AuditHeaderLine, 'account_id' | 'thing_id' | 'from' | 'to'>) {}

  header(generatedAt: string): string {
    const { text, hash } = sealed<AuditHeaderLine>({ type: 'header', format: auditExportFormat, ...this.scope, generated_at: generatedAt, prev_hash: this.previous })
    this.previous = hash
    this.headerHash = hash
    return text
  }

  event(event: AuditEventLine['event']): string {
    this.count += 1
    this.firstPosition ??= event.position
    this.lastPosition = event.position
    // The envelope's members sort as event < hash < prev_hash < seq < type and its other
    // values are canonical already: one canonicalization of the event per line (the cost
    // of an export), the rest is text. Equal to canonicalize() of the whole line.
    const canonicalEvent = canonical(event)
    const tail = `"prev_hash":"${this.previous}","seq":${this.count},"type":"event"}`
    const hash = createHash('sha256').update(`{"event":${canonicalEvent},${tail}`, 'utf8').digest('hex')
    this.previous = hash
    return `{"event":${canonicalEvent},"hash":"${hash}",${tail}`
  }

  signature(sign: (claims: AuditHeadClaims) => string): string {
    const claims: AuditHeadClaims = {
      format: auditExportFormat,
      ...this.scope,
      count: this.count,
      header_hash: this.headerHash,
      head_hash: this.previous,
      first_position: this.firstPosition,
      last_position: this.lastPosition,
    }
    return canonicalize({ type: 'signature', jws: sign(claims) } satisfies AuditSignatureLine) ?? ''
  }
}

// Verification ------------------------------------------------------------------------

export interface Jwks {
  readonly keys: readonly Record<string, unknown>[]
}

export type AuditVerdict =
  | { readonly ok: true; readonly count: number; readonly kid: string; readonly claims: AuditHeadClaims }
  /** `line` is 1-based: the first line that fails */
  | { readonly ok: false; readonly line: number; readonly problem: string }

const hex64 = /^[0-9a-f]{64}$/

function parseLine(text: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : 'is not a JSON object'
  } catch {
    return 'is not valid JSON'
  }
}

function keyOf(jwks: Jwks, kid: string): KeyObject | undefined {
  const jwk = jwks.keys.find((key) => key.kid === kid)
  if (!jwk) return undefined
  try {
    return createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  } catch {
    return undefined
  }
}

/** Checks a whole export, line by line, with constant memory; names the first line that fails. */
export async function verifyAuditExport(lines: AsyncIterable<string> | Iterable<string>, jwks: Jwks): Promise<AuditVerdict> {
  let number = 0
  let previous = genesisHash
  let header: AuditHeaderLine | undefined
  let count = 0
  let firstPosition: number | null = null
  let lastPosition: number | null = null
  let verdict: AuditVerdict | undefined
  const fail = (problem: string): AuditVerdict => ({ ok: false, line: number, problem })
  for await (const text of lines) {
    number += 1
    if (verdict !== undefined) return fail(`comes after the signature line ${number - 1}: nothing may follow it`)
    if (text.trim() === '') return fail('is empty')
    const line = parseLine(text)
    if (typeof line === 'string') return fail(line)
    if (number === 1 && line.type !== 'header') return fail(`must be the header (type "header"), not ${JSON.stringify(line.type)}: the first line is missing`)
    if (line.type === 'signature') {
      verdict = checkSignature(line, jwks, { header: header!, count, previous, firstPosition, lastPosition }, number)
      if (!verdict.ok) return verdict
      continue
    }
    if (line.type !== 'event' && line.type !== 'header') return fail(`has an unknown type ${JSON.stringify(line.type)}`)
    if (line.type === 'header' && number !== 1) return fail('is a second header')
    if (typeof line.hash !== 'string' || !hex64.test(line.hash)) return fail('has no hash (64 hex digits)')
    if (line.prev_hash !== previous) return fail(`prev_hash does not match the hash of line ${number - 1}${number === 1 ? ' (the genesis, 64 zeros)' : ''}: a line was dropped, added or moved`)
    if (lineHash(line) !== line.hash) return fail('hash does not match its content: the line was altered')
    if (line.type === 'header') {
      if (line.format !== auditExportFormat) return fail(`format must be ${auditExportFormat}`)
      header = line as unknown as AuditHeaderLine
    } else {
      count += 1
      if (line.seq !== count) return fail(`seq is ${String(line.seq)}, expected ${count}`)
      const position = (line.event as { position?: unknown } | undefined)?.position
      if (typeof position !== 'number') return fail('event has no position')
      if (lastPosition !== null && position <= lastPosition) return fail('event position is not after the previous one')
      firstPosition ??= position
      lastPosition = position
    }
    previous = line.hash
  }
  if (number === 0) return { ok: false, line: 1, problem: 'the file is empty' }
  if (verdict === undefined) return { ok: false, line: number + 1, problem: `the file ends after line ${number} without its signature line: the last line is missing` }
  return verdict
}

interface ChainSoFar {
  readonly header: AuditHeaderLine
  readonly count: number
  readonly previous: string
  readonly firstPosition: number | null
  readonly lastPosition: number | null
}

function checkSignature(line: Record<string, unknown>, jwks: Jwks, chain: ChainSoFar, number: number): AuditVerdict {
  const fail = (problem: string): AuditVerdict => ({ ok: false, line: number, problem })
  if (typeof line.jws !== 'string') return fail('signature line has no jws')
  const decoded = jwt.decode(line.jws, { complete: true })
  if (!decoded || typeof decoded.header.kid !== 'string') return fail('jws is not a JWS with a kid')
  const kid = decoded.header.kid
  const key = keyOf(jwks, kid)
  if (!key) return fail(`jws was signed by key ${kid}, which the JWKS does not hold`)
  let claims: AuditHeadClaims
  try {
    claims = jwt.verify(line.jws, key, { algorithms: ['RS256'] }) as unknown as AuditHeadClaims
  } catch (error) {
    return fail(`jws signature does not verify with key ${kid}: ${(error as Error).message}`)
  }
  const { header } = chain
  const expected: Partial<Record<keyof AuditHeadClaims, unknown>> = {
    format: auditExportFormat,
    account_id: header.account_id,
    thing_id: header.thing_id,
    from: header.from,
    to: header.to,
    header_hash: header.hash,
    count: chain.count,
    head_hash: chain.previous,
    first_position: chain.firstPosition,
    last_position: chain.lastPosition,
  }
  for (const [name, value] of Object.entries(expected)) {
    const signed = claims[name as keyof AuditHeadClaims]
    if (signed !== value) return fail(`the signed head's ${name} is ${JSON.stringify(signed)}, the file's ${JSON.stringify(value)}: lines were dropped or added`)
  }
  return { ok: true, count: chain.count, kid, claims }
}
