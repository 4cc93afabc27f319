/**
 * The job scheduler on the real embedded store and projector, with a clock and a timer
 * the test moves: no sleeping, every pass is one the test asked for.
 */
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Test } from 'tap'
import { openEmbeddedStores } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import type { EventStore } from '../../domain/ports/event-store.ts'
import { handleCommand } from '../../commands/handle-command.ts'
import { ConcurrencyError } from '../../domain/errors.ts'
import { jobDecider, jobStreamName, type JobDefinition } from '../../domain/job/job.ts'
import type { JobConfig } from '../../domain/job/schedule.ts'
import { allProjections } from '../../projections/index.ts'
import { jobOfAccount } from '../../projections/jobs.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { JobScheduler, type SchedulerTimer } from '../../streams/scheduler.ts'
import { tempDataDir } from '../helpers/server.ts'

const silent = { info: () => {}, warn: () => {}, error: () => {} }
const accountId = 'account-scheduler'
const metadata = { actor: { type: 'system', id: 'test' }, account_id: accountId, client_id: null, correlation_id: 'test', causation_id: 'test' } as const

/** Holds the one callback the scheduler armed, and for how long. */
class ManualTimer implements SchedulerTimer {
  armed: { readonly callback: () => void; readonly delayMs: number } | null = null
  set(callback: () => void, delayMs: number): unknown {
    this.armed = { callback, delayMs }
    return this.armed
  }
  clear(handle: unknown): void {
    if (this.armed === handle) this.armed = null
  }
}

/** The real store, counting the appends that lost a race. */
function countingConflicts(store: EventStore): { store: EventStore; conflicts: () => number } {
  let conflicts = 0
  return {
    conflicts: () => conflicts,
    store: {
      appendToStream: async (...args) => {
        try {
          return await store.appendToStream(...args)
        } catch (error) {
          if (error instanceof ConcurrencyError) conflicts++
          throw error
        }
      },
      streamRevision: (name) => store.streamRevision(name),
      readStream: (...args) => store.readStream(...args),
      readAll: (...args) => store.readAll(...args),
      subscribeToAll: (...args) => store.subscribeToAll(...args),
      headPosition: () => store.headPosition(),
      ping: () => store.ping(),
      close: () => store.close(),
    },
  }
}

async function world(t: Test, start: string) {
  const stores = openEmbeddedStores(loadConfig({ DATA_DIR: tempDataDir(t), LOG_LEVEL: 'silent' }))
  const { eventStore, readStore } = stores
  const runner = new ProjectionRunner({ eventStore, readStore, projections: allProjections, logger: silent })
  await runner.start()
  t.teardown(async () => {
    await runner.stop()
    await stores.close()
  })
  let clock = Date.parse(start)
  const now = () => new Date(clock)
  const settle = async () => {
    const head = await eventStore.headPosition()
    if (head !== null) t.ok(await runner.waitFor(head, 10_000), 'the read models caught up')
  }
  const schedulers: JobScheduler[] = []
  t.teardown(async () => {
    for (const s of schedulers) await s.stop()
  })
  return {
    eventStore,
    readStore,
    now,
    settle,
    set: (iso: string) => (clock = Date.parse(iso)),
    scheduler(timer = new ManualTimer(), store: EventStore = eventStore) {
      const scheduler = new JobScheduler({ eventStore: store, readStore, now, newId: randomUUID, logger: silent, timer })
      schedulers.push(scheduler)
      return { scheduler, timer }
    },
    async job(config: Partial<JobConfig>, definition: Partial<JobDefinition> = {}): Promise<string> {
      const jobId = randomUUID()
      const full: JobConfig = { type: 'interval', interval: 1, unit: 'minute', startDate: start, tz: 'UTC', missed: 'catch_up', ...config }
      await handleCommand(
        jobDecider,
        jobStreamName(jobId),
        { type: 'ScheduleJob', data: { jobId, accountId, title: 'Test job', config: full, notifications: [], httpPush: [], actions: [], active: true, ...definition } },
        { eventStore, now, newId: randomUUID, metadata },
      )
      await settle()
      return jobId
    },
    /** The job's runs, as recorded: type, occurrence, reason. */
    async runs(jobId: string): Promise<string[]> {
      const events = await eventStore.readStream(jobStreamName(jobId))
      return events.flatMap((e) => {
        const d = e.data as { occurrence?: string; reason?: string }
        if (e.type === 'JobFired') return [`fired ${d.occurrence} ${d.reason}`]
        if (e.type === 'JobRunSkipped') return [`skipped ${d.occurrence}`]
        if (e.type === 'JobDeactivated') return ['deactivated']
        return []
      })
    },
    document: (jobId: string) => jobOfAccount(readStore, accountId, jobId),
  }
}

t.test('fires each occurrence on time and arms its timer for the next', async (t) => {
  const w = await world(t, '2026-03-08T10:00:00.000Z')
  const job = await w.job({ startDate: '2026-03-08T10:00:30Z' })
  const { scheduler, timer } = w.scheduler()
  await scheduler.start()
  t.strictSame(await w.runs(job), [], 'nothing is due at start')
  t.equal(timer.armed?.delayMs, 1000, 'the next run is beyond the next poll: poll in a second')

  w.set('2026-03-08T10:00:29.600Z')
  await scheduler.runPass()
  t.equal(timer.armed?.delayMs, 400, 'the run is closer than the next poll: the timer is armed for it')

  w.set('2026-03-08T10:00:30.000Z')
  await scheduler.runPass()
  await scheduler.runPass()
  t.strictSame(await w.runs(job), ['fired 2026-03-08T10:00:30.000Z on_time'], 'fired once, at its time, though the read model had not caught up')
  await w.settle()
  t.match(await w.document(job), { next_runtime: '2026-03-08T10:01:30.000Z', scheduled: true, revision: 1 })
  t.equal(timer.armed?.delayMs, 1000)

  w.set('2026-03-08T10:01:30.250Z')
  await scheduler.runPass()
  t.strictSame(await w.runs(job), ['fired 2026-03-08T10:00:30.000Z on_time', 'fired 2026-03-08T10:01:30.000Z on_time'])

  await scheduler.stop()
  t.equal(timer.armed, null, 'stopped: nothing armed')
  w.set('2026-03-08T10:05:00.000Z')
  await scheduler.runPass()
  t.equal((await w.runs(job)).length, 2, 'a stopped scheduler fires nothing')
})

t.test('a job created while it runs is seen at the next poll and fires on time', async (t) => {
  const w = await world(t, '2026-03-08T10:00:00.000Z')
  const { scheduler, timer } = w.scheduler()
  await scheduler.start()
  const job = await w.job({ type: 'date', interval: null, unit: null, startDate: '2026-03-08T10:00:02Z' })
  w.set('2026-03-08T10:00:01.300Z')
  timer.armed!.callback()
  await scheduler.runPass()
  t.equal(timer.armed?.delayMs, 700, 'seen at the poll: the timer is armed for its time')
  w.set('2026-03-08T10:00:02.000Z')
  await scheduler.runPass()
  t.strictSame(await w.runs(job), ['fired 2026-03-08T10:00:02.000Z on_time', 'deactivated'])
  const [fired] = (await w.eventStore.readStream(jobStreamName(job))).filter((e) => e.type === 'JobFired')
  t.equal((fired!.data as { firedAt: string }).firedAt, '2026-03-08T10:00:02.000Z')
  t.match(fired!.metadata, { actor: { type: 'system', id: 'scheduler' }, account_id: accountId })
})

t.test('a date job becomes inactive after it fires', async (t) => {
  const w = await world(t, '2026-03-08T09:00:00.000Z')
  // 02:30 does not exist on 2026-03-08 in Los Angeles: it runs at 03:30 PDT.
  const job = await w.job({ type: 'date', interval: null, unit: null, startDate: '2026-03-08 02:30', tz: 'America/Los_Angeles' })
  t.match(await w.document(job), { next_runtime: '2026-03-08T10:30:00.000Z', active: true, scheduled: true })
  const { scheduler } = w.scheduler()
  await scheduler.start()
  w.set('2026-03-08T10:30:00.000Z')
  await scheduler.runPass()
  await w.settle()
  t.match(await w.document(job), { next_runtime: null, active: false, scheduled: false })
  w.set('2026-03-09T10:30:00.000Z')
  await scheduler.runPass()
  t.strictSame(await w.runs(job), ['fired 2026-03-08T10:30:00.000Z on_time', 'deactivated'], 'it ran once')
})

t.test('after a downtime: catch_up fires once, skip records a skip, both continue from the next occurrence', async (t) => {
  const w = await world(t, '2026-03-08T10:00:00.000Z')
  const catchUp = await w.job({ unit: 'hour', startDate: '2026-03-08T11:00:00Z' })
  const skip = await w.job({ unit: 'hour', startDate: '2026-03-08T11:00:00Z', missed: 'skip' })
  const before = w.scheduler()
  await before.scheduler.start()
  await before.scheduler.stop()

  // Down from 10:00 to 13:45: the 11:00, 12:00 and 13:00 runs were missed.
  w.set('2026-03-08T13:45:00.000Z')
  const after = w.scheduler()
  await after.scheduler.start()
  t.strictSame(await w.runs(catchUp), ['fired 2026-03-08T13:00:00.000Z catch_up'], 'one catch-up run, for the latest missed')
  t.strictSame(await w.runs(skip), ['skipped 2026-03-08T13:00:00.000Z'])
  const [skipped] = (await w.eventStore.readStream(jobStreamName(skip))).filter((e) => e.type === 'JobRunSkipped')
  t.match(skipped!.data, { missedSince: '2026-03-08T11:00:00.000Z', skippedAt: '2026-03-08T13:45:00.000Z' })
  await w.settle()
  t.match(await w.document(catchUp), { next_runtime: '2026-03-08T14:00:00.000Z' })
  t.match(await w.document(skip), { next_runtime: '2026-03-08T14:00:00.000Z' })

  w.set('2026-03-08T14:00:00.000Z')
  await after.scheduler.runPass()
  t.strictSame(await w.runs(catchUp), ['fired 2026-03-08T13:00:00.000Z catch_up', 'fired 2026-03-08T14:00:00.000Z on_time'])
  t.strictSame(await w.runs(skip), ['skipped 2026-03-08T13:00:00.000Z', 'fired 2026-03-08T14:00:00.000Z on_time'])
})

t.test('an hourly job fires every real hour through the night clocks go back', async (t) => {
  const w = await world(t, '2026-11-01T06:30:00.000Z')
  const job = await w.job({ unit: 'hour', startDate: '2026-10-31 23:16', tz: 'America/Los_Angeles' })
  const { scheduler } = w.scheduler()
  await scheduler.start()
  for (const at of ['2026-11-01T07:16:00.000Z', '2026-11-01T08:16:00.000Z', '2026-11-01T09:16:00.000Z', '2026-11-01T10:16:00.000Z']) {
    w.set(at)
    await scheduler.runPass()
    await w.settle()
  }
  t.strictSame(await w.runs(job), [
    'fired 2026-11-01T07:16:00.000Z on_time',
    'fired 2026-11-01T08:16:00.000Z on_time',
    'fired 2026-11-01T09:16:00.000Z on_time',
    'fired 2026-11-01T10:16:00.000Z on_time',
  ], '00:16 PDT, 01:16 PDT, 01:16 PST, 02:16 PST')
})

t.test('two schedulers on one store: every occurrence fires exactly once', async (t) => {
  const w = await world(t, '2026-03-08T10:00:00.000Z')
  const jobs = await Promise.all(Array.from({ length: 20 }, () => w.job({ startDate: '2026-03-08T10:01:00Z' })))
  const a = countingConflicts(w.eventStore)
  const b = countingConflicts(w.eventStore)
  const first = w.scheduler(new ManualTimer(), a.store)
  const second = w.scheduler(new ManualTimer(), b.store)
  await Promise.all([first.scheduler.start(), second.scheduler.start()])
  for (let minute = 1; minute <= 4; minute++) {
    w.set(`2026-03-08T10:0${minute}:00.000Z`)
    await Promise.all([first.scheduler.runPass(), second.scheduler.runPass()])
    // Half the rounds with a read model that has not caught up: both see the old next_runtime.
    await Promise.all([first.scheduler.runPass(), second.scheduler.runPass()])
    if (minute % 2 === 0) await w.settle()
  }
  const expected = ['01', '02', '03', '04'].map((m) => `fired 2026-03-08T10:${m}:00.000Z on_time`)
  for (const job of jobs) t.strictSame(await w.runs(job), expected, `job ${job.slice(0, 8)}: each minute once`)
  t.ok(a.conflicts() + b.conflicts() > 0, `the schedulers really raced (${a.conflicts() + b.conflicts()} appends lost)`)
})
