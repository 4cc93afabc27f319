/**
 * Slows password guessing over MQTT: a growing delay before the answer to repeated failed
 * CONNECTs (CONNACK 4, bad user name or password), counted per client address and per
 * user name, forgotten after a quiet period. Policy only, the clock injected; broker.ts
 * holds the answer back.
 *
 * - The address count delays every CONNECT from that address once it is over its
 *   allowance, accepted ones too: otherwise a guess that is right would be answered at
 *   once and an attacker could stop waiting for the slow refusals.
 * - The user name count delays only refusals, so the owner connecting from elsewhere is
 *   never slowed by someone else's guesses at their user name; an accepted CONNECT clears
 *   the user name's count (not the address's: logging into one's own account does not buy
 *   more guesses at another).
 */

export interface FailedConnectPolicy {
  /** failures from one address answered without delay (several devices may share a NAT) */
  readonly freeFailuresPerAddress: number
  /** failures for one user name answered without delay */
  readonly freeFailuresPerUsername: number
  /** the first delay; it doubles with each further failure */
  readonly firstDelayMs: number
  /** 0: no delay ever */
  readonly maxDelayMs: number
  /** a count without a failure for this long starts again from 0 */
  readonly forgetAfterMs: number
  /** counts kept per kind at most (the oldest go first), so cycling names cannot fill memory */
  readonly maxTracked: number
}

export const defaultFailedConnectPolicy: Omit<FailedConnectPolicy, 'maxDelayMs'> = {
  freeFailuresPerAddress: 10,
  freeFailuresPerUsername: 5,
  firstDelayMs: 500,
  forgetAfterMs: 15 * 60_000,
  maxTracked: 50_000,
}

export interface ConnectDelay {
  readonly delayMs: number
  /** which count caused the delay; null when there is none */
  readonly reason: 'address' | 'username' | null
  /** failures already counted for that reason */
  readonly failures: number
}

interface Count {
  failures: number
  lastFailureAt: number
}

/** A user name is chosen by the client, up to 64 KiB: keys keep its start only. */
const longestKey = 128

class Counts {
  private readonly counts = new Map<string, Count>()

  constructor(
    private readonly policy: FailedConnectPolicy,
    private readonly now: () => number,
  ) {}

  failures(key: string): number {
    const count = this.counts.get(key.slice(0, longestKey))
    return count === undefined || this.now() - count.lastFailureAt >= this.policy.forgetAfterMs ? 0 : count.failures
  }

  fail(key: string): void {
    const short = key.slice(0, longestKey)
    const failures = this.failures(short) + 1
    // re-inserted, so the map stays ordered by last failure and the oldest is evicted first
    this.counts.delete(short)
    this.counts.set(short, { failures, lastFailureAt: this.now() })
    if (this.counts.size > this.policy.maxTracked) this.counts.delete(this.counts.keys().next().value!)
  }

  forget(key: string): void {
    this.counts.delete(key.slice(0, longestKey))
  }
}

export class FailedConnects {
  private readonly byAddress: Counts
  private readonly byUsername: Counts

  constructor(
    private readonly policy: FailedConnectPolicy,
    now: () => number,
  ) {
    this.byAddress = new Counts(policy, now)
    this.byUsername = new Counts(policy, now)
  }

  /** How long to hold the answer to this CONNECT; records its outcome. */
  answer(address: string, username: string, refused: boolean): ConnectDelay {
    const addressFailures = this.byAddress.failures(address)
    const usernameFailures = this.byUsername.failures(username)
    const byAddress = this.delayAfter(addressFailures, this.policy.freeFailuresPerAddress)
    const byUsername = refused ? this.delayAfter(usernameFailures, this.policy.freeFailuresPerUsername) : 0
    if (refused) {
      this.byAddress.fail(address)
      this.byUsername.fail(username)
    } else {
      this.byUsername.forget(username)
    }
    if (byAddress === 0 && byUsername === 0) return { delayMs: 0, reason: null, failures: 0 }
    return byAddress >= byUsername
      ? { delayMs: byAddress, reason: 'address', failures: addressFailures }
      : { delayMs: byUsername, reason: 'username', failures: usernameFailures }
  }

  private delayAfter(failures: number, free: number): number {
    if (failures < free || this.policy.maxDelayMs === 0) return 0
    return Math.min(this.policy.maxDelayMs, this.policy.firstDelayMs * 2 ** Math.min(failures - free, 30))
  }
}

/** One key per client address: IPv4-mapped IPv6 as IPv4, other IPv6 by their /64 (one host's usual share). */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown'
  const remoteAddress = address.split('%')[0]!
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress)
  if (mapped) return mapped[1]!
  if (!remoteAddress.includes(':')) return remoteAddress
  const [head = '', tail = ''] = remoteAddress.toLowerCase().split('::')
  const headGroups = head ? head.split(':') : []
  const tailGroups = remoteAddress.includes('::') ? (tail ? tail.split(':') : []) : []
  const groups = remoteAddress.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

const isLoopback = (address: string): boolean => /^(127\.|::ffff:127\.)/i.test(address) || address === '::1'

/**
 * The client address of a WebSocket upgrade, as the HTTP side sees it (`trust proxy:
 * loopback`): behind a proxy on loopback, the nearest `X-Forwarded-For` entry that is not
 * loopback; otherwise the socket's own address.
 */
export function forwardedAddress(remoteAddress: string | undefined, forwardedFor: string | string[] | undefined): string | undefined {
  if (remoteAddress === undefined || !isLoopback(remoteAddress) || forwardedFor === undefined) return remoteAddress
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((hop) => hop.trim()).filter(Boolean)
  for (let i = hops.length - 1; i >= 0; i--) if (!isLoopback(hops[i]!)) return hops[i]
  return remoteAddress
}
