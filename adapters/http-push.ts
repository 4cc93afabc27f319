/**
 * The HttpPusher port: one HTTP(S) request per attempt, with an SSRF guard. The host is
 * resolved here and every address it resolves to is vetted (none of the IANA special-purpose
 * registries' blocks, no multicast, no IPv6 outside global unicast, nor one of those inside
 * an IPv6 form that carries an IPv4 address) unless HTTP_PUSH_ALLOW_PRIVATE=true; the connection then goes to the
 * vetted address itself (a `lookup` that answers only it), so a second DNS answer cannot
 * swap in an internal one (DNS rebinding). Only http and https; redirects are not
 * followed. A refusal is `rejected` (dead-lettered at once), never sent.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import type { HttpPushSpec } from '../domain/automation/effects.ts'
import type { AttemptResult } from '../domain/delivery/delivery.ts'
import type { HttpPusher } from '../domain/ports/delivery-ports.ts'
import { resultOfStatus } from '../domain/delivery/delivery.ts'

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

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number]

/** [CIDR, reason] pairs; the longest matching prefix gives the reason. */
function rangeTable(entries: readonly (readonly [string, string])[]): readonly (readonly [Range, string])[] {
  return entries.map(([cidr, reason]) => [ipaddr.parseCIDR(cidr), reason] as const).sort((a, b) => b[0][1] - a[0][1])
}

/**
 * Every block of the IANA IPv4 and IPv6 special-purpose address registries (RFC 6890) is
 * refused, the globally reachable ones too: anycast services (PCP, TURN, DNS-SD SRP) answer
 * from the nearest server, often inside our own network, and AS112, AMT, ORCHIDv2 or drone
 * tags host no webhook. Multicast too; for IPv6 also everything outside 2000::/3 global
 * unicast. Only the IPv6 forms that carry an IPv4 address to reach are judged by it (below).
 */
const ipv4Refused = rangeTable([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.0.0/29', 'service continuity'],
  ['192.0.0.8/32', 'dummy'],
  ['192.0.0.9/32', 'PCP anycast'],
  ['192.0.0.10/32', 'TURN anycast'],
  ['192.0.0.170/31', 'NAT64 discovery'],
  ['192.0.2.0/24', 'documentation'],
  ['192.31.196.0/24', 'AS112'],
  ['192.52.193.0/24', 'AMT'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['192.175.48.0/24', 'AS112'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['255.255.255.255/32', 'broadcast'],
])

const ipv6Refused = rangeTable([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['100:0:0:1::/64', 'dummy'],
  ['2001::/23', 'IETF protocol assignment'],
  ['2001::/32', 'Teredo'],
  ['2001:1::1/128', 'PCP anycast'],
  ['2001:1::2/128', 'TURN anycast'],
  ['2001:1::3/128', 'DNS-SD SRP anycast'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:3::/32', 'AMT'],
  ['2001:4:112::/48', 'AS112'],
  ['2001:10::/28', 'ORCHID'],
  ['2001:20::/28', 'ORCHIDv2'],
  ['2001:30::/28', 'drone remote ID'],
  ['2001:db8::/32', 'documentation'],
  ['2620:4f:8000::/48', 'AS112'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'SRv6 SID'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
])

const globalUnicast = ipaddr.parseCIDR('2000::/3')

/**
 * IPv6 forms whose traffic goes to the IPv4 address inside them: IPv4-mapped (a socket to
 * it is an IPv4 socket), the well-known NAT64 prefix (RFC 6052) and 6to4 (RFC 3056).
 * [prefix, name, offset of the IPv4 address in bytes]
 */
const ipv4Carriers: readonly (readonly [Range, string, number])[] = [
  [ipaddr.parseCIDR('::ffff:0:0/96'), 'IPv4-mapped', 12],
  [ipaddr.parseCIDR('64:ff9b::/96'), 'NAT64', 12],
  [ipaddr.parseCIDR('2002::/16'), '6to4', 2],
]

const longestMatch = (address: ipaddr.IPv4 | ipaddr.IPv6, table: readonly (readonly [Range, string])[]): string | null =>
  table.find(([range]) => address.match(range))?.[1] ?? null

function reasonOf(address: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  if (address.kind() === 'ipv4') return longestMatch(address, ipv4Refused)
  for (const [prefix, name, offset] of ipv4Carriers) {
    if (!address.match(prefix)) continue
    const carried = reasonOf(ipaddr.fromByteArray(address.toByteArray().slice(offset, offset + 4)))
    return carried === null ? null : `${name} ${carried}`
  }
  return longestMatch(address, ipv6Refused) ?? (address.match(globalUnicast) ? null : 'reserved')
}

/** Why an address may not be pushed to, or null when it is a public one. */
export function blockedReason(address: string): string | null {
  const withoutZone = address.split('%')[0]!
  switch (isIP(withoutZone)) {
    case 4:
      return reasonOf(ipaddr.IPv4.parse(withoutZone))
    case 6:
      // Rewritten in hex by the WHATWG URL parser first: ipaddr.js reads `::a.b.c.d` as
      // IPv4-mapped, where a socket reaches the IPv4-compatible address.
      return reasonOf(ipaddr.IPv6.parse(new URL(`http://[${withoutZone}]/`).hostname.slice(1, -1)))
    default:
      return 'unparseable'
  }
}
