/**
 * A lease: at most one holder at a time among the candidates for a job (the projector, the
 * scheduler), for a bounded time that the holder renews. Each acquisition gets a fencing
 * token greater than every earlier one, so whatever a deposed holder still does can be told
 * apart from what the current one does.
 *
 * Adapters: adapters/lease/redis.ts (across nodes; SET NX PX), and InProcessLease below (one
 * process, for the embedded engine and for tests).
 */
export interface Lease {
  /** the job this lease is for, e.g. `projector` */
  readonly name: string
  /**
   * Takes the lease if nobody holds it; resolves with the fencing token, or null when
   * another candidate holds it.
   */
  tryAcquire(): Promise<number | null>
  /** Extends the lease this candidate holds; false when it was lost (expired and taken, or released). */
  renew(): Promise<boolean>
  /** Gives the lease up if this candidate still holds it; never removes another holder's. */
  release(): Promise<void>
}

/** What InProcessLease candidates of one name share: the holder, its expiry, the last token. */
export class InProcessLeaseRegistry {
  private readonly holders = new Map<string, { candidate: string; expiresAt: number; token: number }>()
  private readonly tokens = new Map<string, number>()

  constructor(private readonly now: () => number = () => Date.now()) {}

  acquire(name: string, candidate: string, ttlMs: number): number | null {
    const holder = this.holders.get(name)
    if (holder && holder.expiresAt > this.now() && holder.candidate !== candidate) return null
    if (holder && holder.expiresAt > this.now() && holder.candidate === candidate) return holder.token
    const token = (this.tokens.get(name) ?? 0) + 1
    this.tokens.set(name, token)
    this.holders.set(name, { candidate, expiresAt: this.now() + ttlMs, token })
    return token
  }

  renew(name: string, candidate: string, token: number, ttlMs: number): boolean {
    const holder = this.holders.get(name)
    if (!holder || holder.candidate !== candidate || holder.token !== token || holder.expiresAt <= this.now()) return false
    holder.expiresAt = this.now() + ttlMs
    return true
  }

  release(name: string, candidate: string, token: number): void {
    const holder = this.holders.get(name)
    if (holder && holder.candidate === candidate && holder.token === token) this.holders.delete(name)
  }
}

/** A lease among candidates of one process, on an injectable clock. */
export class InProcessLease implements Lease {
  private token: number | null = null

  constructor(
    private readonly registry: InProcessLeaseRegistry,
    readonly name: string,
    private readonly candidate: string,
    private readonly ttlMs: number,
  ) {}

  async tryAcquire(): Promise<number | null> {
    this.token = this.registry.acquire(this.name, this.candidate, this.ttlMs)
    return this.token
  }

  async renew(): Promise<boolean> {
    if (this.token === null) return false
    const held = this.registry.renew(this.name, this.candidate, this.token, this.ttlMs)
    if (!held) this.token = null
    return held
  }

  async release(): Promise<void> {
    if (this.token !== null) this.registry.release(this.name, this.candidate, this.token)
    this.token = null
  }
}
