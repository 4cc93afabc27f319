/**
 * The HttpPusher port: one HTTP(S) request per attempt, with an SSRF guard. The host is
 * resolved here and every address it resolves to is vetted (no loopback, private,
 * link-local, unspecified, multicast, CGNAT or reserved address, nor one of those inside
 * an IPv6 form) unless HTTP_PUSH_ALLOW_PRIVATE=true; the connection then goes to the
 * vetted address itself (a `lookup` that answers only it), so a second DNS answer cannot
 * swap in an internal one (DNS rebinding). Only http and https; redirects are not
 * followed. A refusal is `rejected` (dead-lettered at once), never sent.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { HttpPushSpec } from '../domain/automation/effects.ts'
import type { AttemptResult } from '../domain/delivery/delivery.ts'
import { resultOfStatus, type HttpPusher } from '../streams/reactors/delivery-ports.ts'

export interface ResolvedAddress {
  readonly address: string
  readonly family: number
}

export interface HttpPushOptions {
  readonly allowPrivate: boolean
  readonly timeoutMs: number
  /** every address of a host name; node:dns lookup by default */
  readonly resolve?: (hostname: string) => Promise<readonly ResolvedAddress[]>
}

const systemResolve = (hostname: string): Promise<readonly ResolvedAddress[]> => dnsLookup(hostname, { all: true, verbatim: true })

export function createHttpPusher(options: HttpPushOptions): HttpPusher {
  const resolve = options.resolve ?? systemResolve
  return {
    async push(request: HttpPushSpec, idempotencyKey: string): Promise<AttemptResult> {
      let url: URL
      try {
        url = new URL(request.url)
      } catch {
        return rejected(`refused: ${JSON.stringify(request.url)} is not a URL`)
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return rejected(`refused: only http and https URLs are pushed to, not ${url.protocol}`)
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
      let addresses: readonly ResolvedAddress[]
      if (isIP(host)) {
        addresses = [{ address: host, family: isIP(host) }]
      } else {
        try {
          addresses = await resolve(host)
        } catch (error) {
          return { outcome: 'failed', statusCode: null, error: `cannot resolve ${host}: ${messageOf(error)}` }
        }
        if (addresses.length === 0) return { outcome: 'failed', statusCode: null, error: `cannot resolve ${host}: no address` }
      }
      if (!options.allowPrivate) {
        for (const { address } of addresses) {
          const reason = blockedReason(address)
          if (reason !== null) {
            const via = address === host ? '' : ` resolves to ${address}, which`
            return rejected(`refused: ${host}${via} is a ${reason} address (HTTP_PUSH_ALLOW_PRIVATE=true allows it)`)
          }
        }
      }
      return send(url, addresses[0]!, request, idempotencyKey, options.timeoutMs)
    },
  }
}

function send(url: URL, pinned: ResolvedAddress, spec: HttpPushSpec, idempotencyKey: string, timeoutMs: number): Promise<AttemptResult> {
  const method = spec.method.toUpperCase()
  const body = spec.payload === null || method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(spec.payload)
  const headers = new Map<string, [string, string]>()
  const set = (name: string, value: string): void => void headers.set(name.toLowerCase(), [name, value])
  set('User-Agent', 'Capsicum')
  set('Idempotency-Key', idempotencyKey)
  if (body !== undefined) set('Content-Type', 'application/json')
  for (const [name, value] of Object.entries(spec.headers)) set(name, value)
  if (body !== undefined) set('Content-Length', String(Buffer.byteLength(body)))
  // Whatever the host name resolves to now, the socket goes to the vetted address.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }])
    else callback(null, pinned.address, pinned.family)
  }
  return new Promise((resolve) => {
    let settled = false
    const settle = (result: AttemptResult): void => {
      if (settled) return
      settled = true
      resolve(result)
    }
    let req: http.ClientRequest
    try {
      req = (url.protocol === 'https:' ? https : http).request(
        url,
        { method, headers: Object.fromEntries(headers.values()), agent: false, lookup },
        (res) => {
          const status = res.statusCode ?? 0
          const redirect = status >= 300 && status < 400 ? `redirect to ${res.headers.location ?? '?'} not followed (HTTP ${status})` : null
          settle(resultOfStatus(status, redirect))
          // The body is not needed; a timeout may cut it off, which is no failure any more.
          res.on('error', () => {})
          res.resume()
        },
      )
    } catch (error) {
      // Node refuses a malformed method or header before anything is sent.
      settle(rejected(`invalid request: ${messageOf(error)}`))
      return
    }
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    req.on('close', () => clearTimeout(timer))
    req.on('error', (error) => settle({ outcome: 'failed', statusCode: null, error: messageOf(error) }))
    req.end(body)
  })
}

const rejected = (error: string): AttemptResult => ({ outcome: 'rejected', statusCode: null, error })

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

// The address guard -------------------------------------------------------------------

const ipv4Blocks: readonly (readonly [string, number, string])[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
]

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

function ipv4Reason(address: string): string | null {
  const n = ipv4ToNumber(address)
  for (const [base, bits, reason] of ipv4Blocks) {
    const size = 2 ** (32 - bits)
    if (Math.floor(n / size) === Math.floor(ipv4ToNumber(base) / size)) return reason
  }
  return null
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase()
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const n = ipv4ToNumber(dotted[1]!)
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

const ipv4Of = (high: number, low: number): string => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')

function ipv6Reason(address: string): string | null {
  const g = ipv6Groups(address)
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0)
  if (zeros(0, 8)) return 'unspecified'
  if (zeros(0, 7) && g[7] === 1) return 'loopback'
  const embedded = (prefix: string, v4: string): string | null => {
    const reason = ipv4Reason(v4)
    return reason === null ? null : `${prefix} ${reason}`
  }
  if (zeros(0, 5) && g[5] === 0xffff) return embedded('IPv4-mapped', ipv4Of(g[6]!, g[7]!))
  if (zeros(0, 6)) return embedded('IPv4-compatible', ipv4Of(g[6]!, g[7]!))
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embedded('NAT64', ipv4Of(g[6]!, g[7]!))
  if (g[0] === 0x2002) return embedded('6to4', ipv4Of(g[1]!, g[2]!))
  if ((g[0]! & 0xfe00) === 0xfc00) return 'private'
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local'
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local'
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast'
  return null
}

/** Why an address may not be pushed to, or null when it is a public one. */
export function blockedReason(address: string): string | null {
  switch (isIP(address.split('%')[0]!)) {
    case 4:
      return ipv4Reason(address)
    case 6:
      return ipv6Reason(address)
    default:
      return 'unparseable'
  }
}
