/**
 * What a node runs, as a list: each service has a name, a start, a stop and, where it can
 * be unwell while it runs, a health check. One function starts them in order and stops them
 * in reverse, on shutdown and on a failed start alike (then what had started, and whatever part
 * of the failing one did).
 */
import type { Logger } from '../domain/ports/logger.ts'
import type { LogFollower } from '../projections/log-follower.ts'
import type { HealthCheck } from '../commands/http/app.ts'

export interface Service {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
  /** rejects, saying what is wrong, while the service runs unwell; checked only while it runs */
  health?(): Promise<void>
  /** the services this one runs (a group, a lease's): their health counts while this one is active */
  readonly members?: readonly Service[]
  /** false while started but not running its members here (a lease held by another node) */
  active?(): boolean
}

/** Services started in order, stopped in reverse. */
export class ServiceStack {
  private readonly started: Service[] = []

  constructor(private readonly logger: Logger) {}

  /** Starts each in order; when one fails, stops it and those started before it (in reverse), and rethrows. */
  async start(services: readonly Service[]): Promise<void> {
    for (const service of services) {
      try {
        await service.start()
      } catch (error) {
        this.logger.error({ err: error, service: service.name }, 'service did not start: stopping what started')
        // it may have started a part of itself; every stop is safe on what did not start
        await service.stop().catch(() => {})
        await this.stop().catch(() => {})
        throw error
      }
      this.started.push(service)
    }
  }

  /** Stops every started service, last first; one that fails to stop does not keep the others running. */
  async stop(): Promise<void> {
    let failure: unknown
    for (let service = this.started.pop(); service !== undefined; service = this.started.pop()) {
      try {
        await service.stop()
      } catch (error) {
        this.logger.error({ err: error, service: service.name }, 'service did not stop cleanly')
        failure ??= error
      }
    }
    if (failure !== undefined) throw failure
  }

  running(service: Service): boolean {
    return this.started.includes(service)
  }

  /**
   * One check per service (and member) that has a health: it passes while the service does
   * not run here (another role, a standby), and is the service's health while it does.
   */
  healthChecks(services: readonly Service[]): HealthCheck[] {
    const checks: HealthCheck[] = []
    const collect = (service: Service, runs: () => boolean): void => {
      const health = service.health?.bind(service)
      if (health) checks.push({ name: service.name, check: async () => (runs() ? health() : undefined) })
      for (const member of service.members ?? []) collect(member, () => runs() && (service.active?.() ?? true))
    }
    for (const service of services) collect(service, () => this.running(service))
    return checks
  }
}

/** Members started in order and stopped in reverse as one service (what one lease runs). */
export function serviceGroup(name: string, members: readonly Service[], logger: Logger): Service {
  let stack: ServiceStack | undefined
  return {
    name,
    members,
    start: async () => {
      stack = new ServiceStack(logger)
      await stack.start(members)
    },
    stop: async () => {
      await stack?.stop()
      stack = undefined
    },
    active: () => stack !== undefined,
  }
}

/** A service's health from its followers: each must be running (not stopped, not failed). */
export function followersRunning(followers: () => readonly LogFollower[]): () => Promise<void> {
  return async () => {
    const unwell = followers()
      .map((follower) => follower.status())
      .filter((status) => status.state !== 'running')
    if (unwell.length > 0) {
      throw new Error(unwell.map((s) => `${s.name} is ${s.state}${s.lastError ? ` (${s.lastError})` : ''}`).join('; '))
    }
  }
}

/** A stop that runs once however often it is called (a service closed early by another's stop). */
export function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined
  return () => (stopping ??= stop())
}
