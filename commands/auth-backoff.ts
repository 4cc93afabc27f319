/**
 * A growing delay after failed authentications (issue 15.11), for the credentials that
 * are checked on every request and have no lock of their own: HTTP Basic on the ingest
 * endpoints and client secrets at the token endpoints. After a key's free failures, each
 * further failure in a row closes the key for twice as long as the last (1 s, 2 s, 4 s...,
 * at most 5 minutes); an attempt while it is closed is refused unchecked (429 with
 * Retry-After), so guessing gets slower the longer it goes on, however many requests are
 * sent in parallel. Keys are the client address and the username (device or client id),
 * counted separately: a success clears the username's count, never the address's; a key
 * quiet for 15 minutes is forgotten. Kept in memory, per node: it slows a guesser, it is
 * not the operators' rate limits (issue 14), which replace it.
 */
export interface BackoffPolicy {
  /** failures in a row that cost nothing (a mistyped secret, a device's stale password) */
  readonly freeFailures: number
  readonly firstDelayMs: number
  readonly maxDelayMs: number
  readonly forgetAfterMs: number
}

export const usernameBackoff: BackoffPolicy = { freeFailures: 2, firstDelayMs: 1000, maxDelayMs: 5 * 60_000, forgetAfterMs: 15 * 60_000 }
/** More free failures: several devices or clients may share one address (NAT). */
export const addressBackoff: BackoffPolicy = { ...usernameBackoff, freeFailures: 10 }

interface KeyState {
  failures: number
  closedUntil: number
  lastFailure: number
}

/** Most keys remembered; the oldest are dropped first (a flood of made-up usernames cannot grow memory). */
const maxKeys = 100_000

export class FailureBackoff {
  private readonly keys = new Map<string, KeyState>()

  constructor(private readonly now: () => Date) {}

  /** Milliseconds until every key of this attempt is open again; 0 when it may be checked now. */
  retryAfterMs(address: string, username: string): number {
    const now = this.now().getTime()
    return Math.max(0, ...[this.state(`address:${address}`, now), this.state(`user:${username}`, now)].map((s) => (s ? s.closedUntil - now : 0)))
  }

  failed(address: string, username: string): void {
    const now = this.now().getTime()
    this.fail(`address:${address}`, addressBackoff, now)
    this.fail(`user:${username}`, usernameBackoff, now)
  }

  succeeded(username: string): void {
    this.keys.delete(`user:${username}`)
  }

  private state(key: string, now: number): KeyState | undefined {
    const state = this.keys.get(key)
    if (state && now - state.lastFailure >= usernameBackoff.forgetAfterMs && now >= state.closedUntil) {
      this.keys.delete(key)
      return undefined
    }
    return state
  }

  private fail(key: string, policy: BackoffPolicy, now: number): void {
    const state = this.state(key, now) ?? { failures: 0, closedUntil: 0, lastFailure: now }
    state.failures++
    state.lastFailure = now
    const paid = state.failures - policy.freeFailures
    if (paid > 0) state.closedUntil = now + Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(paid - 1, 30))
    this.keys.delete(key)
    this.keys.set(key, state)
    if (this.keys.size > maxKeys) this.keys.delete(this.keys.keys().next().value!)
  }
}

export const retryAfterSeconds = (ms: number): number => Math.ceil(ms / 1000)
