/** `capsicum audit verify FILE [--jwks URL|FILE]`: checks an audit export offline. */
import { createReadStream, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { verifyAuditExport, type Jwks } from '../../commands/audit/chain.ts'
import { loadConfig } from '../config.ts'
import { TokenService } from '../tokens.ts'

export class AuditUsageError extends Error {}

async function loadJwks(source: string | undefined): Promise<Jwks> {
  // Without --jwks: the key of the server configured here (DATA_DIR or JWT_PRIVATE_KEY).
  if (source === undefined) return TokenService.load(loadConfig()).jwks()
  const text = /^https?:\/\//i.test(source) ? await (await fetch(source)).text() : readFileSync(source, 'utf8')
  const jwks = JSON.parse(text) as Partial<Jwks>
  if (!Array.isArray(jwks.keys)) throw new Error(`${source} is no JWKS (no "keys" array)`)
  return jwks as Jwks
}

export async function audit(args: readonly string[]): Promise<number> {
  const [action, ...rest] = args
  if (action !== 'verify') throw new AuditUsageError('audit takes: verify FILE [--jwks URL|FILE]')
  const { values, positionals } = parseArgs({ args: rest, options: { jwks: { type: 'string' } }, allowPositionals: true, strict: true })
  if (positionals.length !== 1) throw new AuditUsageError('audit verify takes one FILE (an export of GET /v1.1/audit/export)')
  const file = positionals[0]!
  const jwks = await loadJwks(values.jwks)
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
  const verdict = await verifyAuditExport(lines, jwks)
  lines.close()
  if (!verdict.ok) {
    process.stderr.write(`${file}: line ${verdict.line}: ${verdict.problem}\n`)
    return 1
  }
  const { claims } = verdict
  process.stdout.write(
    `${file}: OK: ${verdict.count} event(s) of account ${claims.account_id}${claims.thing_id ? `, thing ${claims.thing_id}` : ''}` +
      ` from ${claims.from} to ${claims.to}, chain intact, head signed by key ${verdict.kid}\n`,
  )
  return 0
}
