import t from 'tap'
import { ConflictError, NotFoundError, ValidationError } from '../../domain/errors.ts'
import {
  jobDecider,
  type FireJob,
  type JobDefinition,
  type JobEvent,
  type ScheduleJob,
  type UpdateJob,
} from '../../domain/job/job.ts'
import type { JobConfig } from '../../domain/job/schedule.ts'
import { given } from '../helpers/decider-spec.ts'

const jobId = '11111111-1111-4111-8111-111111111111'
const accountId = 'acc-1'
const created = '2026-03-01T10:00:00.000Z'
const hourly: JobConfig = { type: 'interval', interval: 1, unit: 'hour', startDate: '2026-03-01 02:30', tz: 'America/Los_Angeles', missed: 'catch_up' }
const definition: JobDefinition = {
  title: 'My Event',
  config: hourly,
  notifications: [{ id: 'n1', method: 'email', value: 'event@event.com' }],
  httpPush: [{ id: 'h1', url: 'http://random.api.com/job', method: 'POST', headers: { 'Content-Type': 'application/json' }, payload: { variable: 1 } }],
  actions: [{ id: 'a1', thingId: '12345678-0000-0000-0000-000000000000', sensorId: null, unit: 'float', value: '25', channel: '0' }],
  active: true,
}
const scheduled = (overrides: Partial<JobDefinition> = {}, nextRuntime: string | null = '2026-03-01T10:30:00.000Z'): JobEvent => ({
  type: 'JobScheduled',
  data: { jobId, accountId, ...definition, ...overrides, nextRuntime, scheduledAt: created },
})
const schedule = (overrides: Partial<JobDefinition> = {}): ScheduleJob => ({ type: 'ScheduleJob', data: { jobId, accountId, ...definition, ...overrides } })
const update = (changes: Partial<JobDefinition> = {}, account = accountId): UpdateJob => ({
  type: 'UpdateJob',
  data: { jobId, accountId: account, changes: { config: hourly, ...changes } },
})
const fire = (occurrence: string): FireJob => ({ type: 'FireJob', data: { jobId, occurrence } })
const fired = (occurrence: string, firedAt = occurrence, reason: 'on_time' | 'catch_up' = 'on_time'): JobEvent => ({
  type: 'JobFired',
  data: {
    jobId,
    accountId,
    title: 'My Event',
    occurrence,
    firedAt,
    reason,
    effects: {
      actions: [{ thingId: '12345678-0000-0000-0000-000000000000', channel: '0', value: '25', unit: 'float' }],
      notifications: [{ method: 'email', value: 'event@event.com', body: null }],
      httpPush: [{ method: 'POST', url: 'http://random.api.com/job', headers: { 'Content-Type': 'application/json' }, payload: { variable: 1 } }],
    },
  },
})
const at = (iso: string) => given(jobDecider, new Date(iso))
const dateJob: JobConfig = { type: 'date', interval: null, unit: null, startDate: '2026-03-08 02:30', tz: 'America/Los_Angeles', missed: 'catch_up' }

t.test('a job that does not exist', async (t) => {
  t.test('is scheduled from its next occurrence at or after now', async (t) => {
    at(created)([])
      .when(schedule())
      .then(t, [scheduled()])
  })
  t.test('a date job in the future runs at its start (02:30 skipped by DST: 03:30 PDT)', async (t) => {
    at(created)([])
      .when(schedule({ config: dateJob }))
      .then(t, [scheduled({ config: dateJob }, '2026-03-08T10:30:00.000Z')])
  })
  t.test('a date job in the past is refused: it would never run', async (t) => {
    at('2026-03-09T00:00:00.000Z')([]).when(schedule({ config: dateJob })).thenThrows(t, ValidationError)
  })
  t.test('an inactive job has no next run', async (t) => {
    at(created)([])
      .when(schedule({ active: false, config: dateJob }))
      .then(t, [scheduled({ active: false, config: dateJob }, null)])
  })
  t.test('cannot be updated, deleted or fired', async (t) => {
    at(created)([]).when(update()).thenThrows(t, NotFoundError)
    at(created)([]).when({ type: 'DeleteJob', data: { jobId, accountId } }).thenThrows(t, NotFoundError)
    at(created)([]).when(fire('2026-03-01T10:30:00.000Z')).thenNothingHappened(t)
  })
})

t.test('a scheduled job', async (t) => {
  t.test('cannot be scheduled again', async (t) => {
    at(created)([scheduled()]).when(schedule()).thenThrows(t, ConflictError)
  })
  t.test('is not found by another account', async (t) => {
    at(created)([scheduled()]).when(update({}, 'acc-2')).thenThrows(t, NotFoundError)
    at(created)([scheduled()]).when({ type: 'DeleteJob', data: { jobId, accountId: 'acc-2' } }).thenThrows(t, NotFoundError)
  })
  t.test('an update that changes nothing records nothing', async (t) => {
    at('2026-03-01T12:00:00.000Z')([scheduled()]).when(update()).thenNothingHappened(t)
  })
  t.test('a new title keeps the next run, even one that is due and not yet run', async (t) => {
    at('2026-03-01T10:30:00.500Z')([scheduled()])
      .when(update({ title: 'Renamed' }))
      .then(t, [
        { type: 'JobUpdated', data: { jobId, ...definition, title: 'Renamed', nextRuntime: '2026-03-01T10:30:00.000Z', updatedAt: '2026-03-01T10:30:00.500Z' } },
      ])
  })
  t.test('a new schedule starts from now', async (t) => {
    const daily: JobConfig = { ...hourly, unit: 'day', startDate: '2026-03-01 09:00' }
    at('2026-03-01T18:00:00.000Z')([scheduled()])
      .when(update({ config: daily }))
      .then(t, [
        { type: 'JobUpdated', data: { jobId, ...definition, config: daily, nextRuntime: '2026-03-02T17:00:00.000Z', updatedAt: '2026-03-01T18:00:00.000Z' } },
      ])
  })
  t.test('pausing clears the next run; resuming starts from now', async (t) => {
    const pause = { type: 'JobUpdated', data: { jobId, ...definition, active: false, nextRuntime: null, updatedAt: created } } as const
    at(created)([scheduled()]).when(update({ active: false })).then(t, [pause])
    at('2026-03-02T00:45:00.000Z')([scheduled(), pause])
      .when(update({ active: true }))
      .then(t, [{ type: 'JobUpdated', data: { jobId, ...definition, nextRuntime: '2026-03-02T01:30:00.000Z', updatedAt: '2026-03-02T00:45:00.000Z' } }])
  })
  t.test('is deleted', async (t) => {
    at(created)([scheduled()])
      .when({ type: 'DeleteJob', data: { jobId, accountId } })
      .then(t, [{ type: 'JobDeleted', data: { jobId, deletedAt: created } }])
  })
})

t.test('firing', async (t) => {
  t.test('fires the due occurrence on time, with what the job asks for', async (t) => {
    at('2026-03-01T10:30:00.400Z')([scheduled()])
      .when(fire('2026-03-01T10:30:00.000Z'))
      .then(t, [fired('2026-03-01T10:30:00.000Z', '2026-03-01T10:30:00.400Z')])
  })
  t.test('refuses an occurrence that already fired: the lock that makes it once', async (t) => {
    at('2026-03-01T10:30:01.000Z')([scheduled(), fired('2026-03-01T10:30:00.000Z')])
      .when(fire('2026-03-01T10:30:00.000Z'))
      .thenNothingHappened(t)
  })
  t.test('refuses an occurrence that is not due yet', async (t) => {
    at('2026-03-01T10:29:59.999Z')([scheduled()]).when(fire('2026-03-01T10:30:00.000Z')).thenNothingHappened(t)
  })
  t.test('refuses an occurrence that is not the latest due, or not on the schedule', async (t) => {
    at('2026-03-01T11:30:00.000Z')([scheduled()]).when(fire('2026-03-01T10:30:00.000Z')).thenNothingHappened(t)
    at('2026-03-01T10:45:00.000Z')([scheduled()]).when(fire('2026-03-01T10:40:00.000Z')).thenNothingHappened(t)
    at('2026-03-01T10:45:00.000Z')([scheduled()]).when(fire('not a time')).thenNothingHappened(t)
  })
  t.test('the next run follows the occurrence', async (t) => {
    const state = [scheduled(), fired('2026-03-01T10:30:00.000Z')]
    at('2026-03-01T11:30:00.000Z')(state)
      .when(fire('2026-03-01T11:30:00.000Z'))
      .then(t, [fired('2026-03-01T11:30:00.000Z', '2026-03-01T11:30:00.000Z')])
  })
  t.test('more than a minute late is a catch-up', async (t) => {
    at('2026-03-01T10:31:00.001Z')([scheduled()])
      .when(fire('2026-03-01T10:30:00.000Z'))
      .then(t, [fired('2026-03-01T10:30:00.000Z', '2026-03-01T10:31:00.001Z', 'catch_up')])
  })
  t.test('after a downtime, fires once for the latest missed occurrence and continues from the next', async (t) => {
    const now = '2026-03-01T13:45:00.000Z'
    const catchUp = fired('2026-03-01T13:30:00.000Z', now, 'catch_up')
    at(now)([scheduled()]).when(fire('2026-03-01T13:30:00.000Z')).then(t, [catchUp])
    const state = jobDecider.evolve(jobDecider.evolve(jobDecider.initialState, scheduled()), catchUp)
    t.equal(state.status === 'scheduled' && state.nextRuntime, '2026-03-01T14:30:00.000Z')
  })
  t.test('a skip job records the missed occurrences as skipped', async (t) => {
    const skip = { config: { ...hourly, missed: 'skip' as const } }
    at('2026-03-01T13:45:00.000Z')([scheduled(skip)])
      .when(fire('2026-03-01T13:30:00.000Z'))
      .then(t, [
        {
          type: 'JobRunSkipped',
          data: {
            jobId,
            accountId,
            title: 'My Event',
            occurrence: '2026-03-01T13:30:00.000Z',
            missedSince: '2026-03-01T10:30:00.000Z',
            skippedAt: '2026-03-01T13:45:00.000Z',
          },
        },
      ])
    at('2026-03-01T10:30:00.000Z')([scheduled(skip)])
      .when(fire('2026-03-01T10:30:00.000Z'))
      .then(t, [fired('2026-03-01T10:30:00.000Z')])
  })
  t.test('an inactive or deleted job does not fire', async (t) => {
    at('2026-03-01T10:30:00.000Z')([scheduled({ active: false }, null)]).when(fire('2026-03-01T10:30:00.000Z')).thenNothingHappened(t)
    at('2026-03-01T10:30:00.000Z')([scheduled(), { type: 'JobDeleted', data: { jobId, deletedAt: created } }])
      .when(fire('2026-03-01T10:30:00.000Z'))
      .thenNothingHappened(t)
  })
})

t.test('a date job', async (t) => {
  const history = [scheduled({ config: dateJob }, '2026-03-08T10:30:00.000Z')]
  const deactivated: JobEvent = { type: 'JobDeactivated', data: { jobId, reason: 'completed', deactivatedAt: '2026-03-08T10:30:00.000Z' } }
  const ran = { ...fired('2026-03-08T10:30:00.000Z') }
  t.test('becomes inactive after it fires', async (t) => {
    at('2026-03-08T10:30:00.000Z')(history).when(fire('2026-03-08T10:30:00.000Z')).then(t, [ran, deactivated])
    const state = [...history, ran, deactivated].reduce(jobDecider.evolve, jobDecider.initialState)
    t.match(state, { status: 'scheduled', active: false, nextRuntime: null, completed: true })
  })
  t.test('becomes inactive after a skipped run', async (t) => {
    const skipped = [scheduled({ config: { ...dateJob, missed: 'skip' } }, '2026-03-08T10:30:00.000Z')]
    const events = jobDecider.decide(fire('2026-03-08T10:30:00.000Z'), skipped.reduce(jobDecider.evolve, jobDecider.initialState), new Date('2026-03-09T00:00:00.000Z'))
    t.strictSame(events.map((e) => e.type), ['JobRunSkipped', 'JobDeactivated'])
  })
  t.test('never fires twice', async (t) => {
    at('2026-04-01T00:00:00.000Z')([...history, ran, deactivated]).when(fire('2026-03-08T10:30:00.000Z')).thenNothingHappened(t)
  })
  t.test('runs again when given a new start_date', async (t) => {
    const again: JobConfig = { ...dateJob, startDate: '2026-05-01 09:00' }
    at('2026-04-01T00:00:00.000Z')([...history, ran, deactivated])
      .when(update({ config: again }))
      .then(t, [
        {
          type: 'JobUpdated',
          data: { jobId, ...definition, config: again, active: true, nextRuntime: '2026-05-01T16:00:00.000Z', updatedAt: '2026-04-01T00:00:00.000Z' },
        },
      ])
  })
  t.test('an update that keeps the past start_date and asks to run is refused', async (t) => {
    at('2026-04-01T00:00:00.000Z')([...history, ran, deactivated]).when(update({ config: dateJob, active: true })).thenThrows(t, ValidationError)
  })
  t.test('an update that keeps the past start_date stays inactive', async (t) => {
    at('2026-04-01T00:00:00.000Z')([...history, ran, deactivated])
      .when(update({ config: dateJob, title: 'Done' }))
      .then(t, [
        { type: 'JobUpdated', data: { jobId, ...definition, title: 'Done', config: dateJob, active: false, nextRuntime: null, updatedAt: '2026-04-01T00:00:00.000Z' } },
      ])
  })
})
