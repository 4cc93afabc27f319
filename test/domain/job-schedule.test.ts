/**
 * Schedule arithmetic, across the 2026 daylight-saving changes in America/Los_Angeles:
 * 2026-03-08 02:00 PST → 03:00 PDT (02:xx does not exist), 2026-11-01 02:00 PDT → 01:00
 * PST (01:xx happens twice).
 */
import t from 'tap'
import {
  canonicalTimeZone,
  instantOf,
  latestOccurrenceAtOrBefore,
  occurrenceAfter,
  occurrenceAtOrAfter,
  parseStartDate,
  startInstant,
  wallTimeOf,
  type JobConfig,
} from '../../domain/job/schedule.ts'

const tz = 'America/Los_Angeles'
const HOUR = 3_600_000
const ms = (iso: string): number => Date.parse(iso)
const iso = (n: number | null): string | null => (n === null ? null : new Date(n).toISOString())

const every = (interval: number, unit: JobConfig['unit'], startDate: string, zone = tz): JobConfig => ({
  type: 'interval',
  interval,
  unit,
  startDate,
  tz: zone,
  missed: 'catch_up',
})

/** `count` occurrences after `from`, each as UTC ISO. */
function occurrences(config: JobConfig, from: string, count: number): string[] {
  const out: string[] = []
  let at = ms(from)
  for (let i = 0; i < count; i++) {
    const next = occurrenceAfter(config, at)
    if (next === null) break
    out.push(iso(next)!)
    at = next
  }
  return out
}

/** The local wall time of an instant, "2026-03-08 03:30". */
const local = (instant: string, zone = tz): string => new Date(wallTimeOf(ms(instant), zone)).toISOString().slice(0, 16).replace('T', ' ')

t.test('start_date', async (t) => {
  t.test('reads the API text\'s form as a wall time', async (t) => {
    t.strictSame(parseStartDate('2017-04-28 04:16'), { kind: 'wall', wall: Date.UTC(2017, 3, 28, 4, 16) })
    t.strictSame(parseStartDate('2017-04-28T04:16:30'), { kind: 'wall', wall: Date.UTC(2017, 3, 28, 4, 16, 30) })
    t.strictSame(parseStartDate('2017-04-28'), { kind: 'wall', wall: Date.UTC(2017, 3, 28) })
  })
  t.test('reads Z and offsets as instants', async (t) => {
    t.strictSame(parseStartDate('2017-04-28T04:16:00Z'), { kind: 'instant', instant: ms('2017-04-28T04:16:00Z') })
    t.strictSame(parseStartDate('2017-04-28T04:16:00.250Z'), { kind: 'instant', instant: ms('2017-04-28T04:16:00Z') }, 'to the second')
    t.strictSame(parseStartDate('2017-04-28 04:16+02:00'), { kind: 'instant', instant: ms('2017-04-28T02:16:00Z') })
    t.strictSame(parseStartDate('2017-04-28T04:16-0730'), { kind: 'instant', instant: ms('2017-04-28T11:46:00Z') })
  })
  t.test('refuses what is not a date and time', async (t) => {
    for (const bad of ['', 'tomorrow', '2017-02-29 10:00', '2017-13-01 10:00', '2017-04-28 24:00', '2017-04-28 04:60', '28/04/2017 04:16', '1969-12-31 10:00']) {
      t.equal(parseStartDate(bad), null, JSON.stringify(bad))
    }
  })
  t.test('is placed in the job\'s zone', async (t) => {
    t.equal(iso(startInstant(every(1, 'hour', '2017-04-28 04:16'))), '2017-04-28T11:16:00.000Z', 'PDT is UTC-7')
    t.equal(iso(startInstant(every(1, 'hour', '2017-01-28 04:16'))), '2017-01-28T12:16:00.000Z', 'PST is UTC-8')
    t.equal(iso(startInstant(every(1, 'hour', '2017-01-28T04:16:00Z'))), '2017-01-28T04:16:00.000Z', 'an instant ignores tz')
  })
})

t.test('time zones', async (t) => {
  t.equal(canonicalTimeZone('america/los_angeles'), 'America/Los_Angeles')
  t.equal(canonicalTimeZone('UTC'), 'UTC')
  t.equal(canonicalTimeZone('Europe/Berlin'), 'Europe/Berlin')
  for (const bad of ['Mars/Olympus_Mons', '+01:00', '', 'PST8PDT-ish']) t.equal(canonicalTimeZone(bad), null, JSON.stringify(bad))

  t.test('a skipped wall time is read with the offset before the gap (RFC 5545, Temporal "compatible")', async (t) => {
    t.equal(iso(instantOf(Date.UTC(2026, 2, 8, 2, 30), tz)), '2026-03-08T10:30:00.000Z')
    t.equal(local('2026-03-08T10:30:00.000Z'), '2026-03-08 03:30')
  })
  t.test('a repeated wall time is its first instance', async (t) => {
    t.equal(iso(instantOf(Date.UTC(2026, 10, 1, 1, 30), tz)), '2026-11-01T08:30:00.000Z', '01:30 PDT, not 01:30 PST')
  })
  t.test('ordinary wall times round-trip', async (t) => {
    for (const at of ['2026-03-08T09:59:59.000Z', '2026-03-08T10:00:00.000Z', '2026-11-01T08:59:00.000Z', '2026-11-01T10:00:00.000Z', '2026-07-01T12:00:00.000Z']) {
      t.equal(iso(instantOf(wallTimeOf(ms(at), tz), tz)), at)
    }
  })
})

t.test('daily jobs keep their wall-clock time', async (t) => {
  t.test('02:30, which 2026-03-08 skips, runs at 03:30 PDT that day', async (t) => {
    const runs = occurrences(every(1, 'day', '2026-03-01 02:30'), '2026-03-06T00:00:00Z', 4)
    t.strictSame(runs, ['2026-03-06T10:30:00.000Z', '2026-03-07T10:30:00.000Z', '2026-03-08T10:30:00.000Z', '2026-03-09T09:30:00.000Z'])
    t.strictSame(runs.map((r) => local(r)), ['2026-03-06 02:30', '2026-03-07 02:30', '2026-03-08 03:30', '2026-03-09 02:30'])
  })
  t.test('01:30, which 2026-11-01 repeats, runs once that day, at 01:30 PDT', async (t) => {
    const runs = occurrences(every(1, 'day', '2026-10-01 01:30'), '2026-10-31T00:00:00Z', 3)
    t.strictSame(runs, ['2026-10-31T08:30:00.000Z', '2026-11-01T08:30:00.000Z', '2026-11-02T09:30:00.000Z'])
    t.strictSame(runs.map((r) => local(r)), ['2026-10-31 01:30', '2026-11-01 01:30', '2026-11-02 01:30'])
  })
  t.test('09:00 stays 09:00 across both changes', async (t) => {
    const spring = occurrences(every(1, 'day', '2026-01-01 09:00'), '2026-03-07T00:00:00Z', 3)
    t.strictSame(spring.map((r) => local(r)), ['2026-03-07 09:00', '2026-03-08 09:00', '2026-03-09 09:00'])
    t.equal(ms(spring[2]!) - ms(spring[1]!), 24 * HOUR)
    t.equal(ms(spring[1]!) - ms(spring[0]!), 23 * HOUR, 'the spring day is 23 hours long')
    const fall = occurrences(every(1, 'day', '2026-01-01 09:00'), '2026-10-31T00:00:00Z', 3)
    t.strictSame(fall.map((r) => local(r)), ['2026-10-31 09:00', '2026-11-01 09:00', '2026-11-02 09:00'])
    t.equal(ms(fall[1]!) - ms(fall[0]!), 25 * HOUR, 'the fall day is 25 hours long')
  })
  t.test('every 3 days counts days from the start', async (t) => {
    const runs = occurrences(every(3, 'day', '2026-03-02 02:30'), '2026-03-01T00:00:00Z', 4)
    t.strictSame(runs.map((r) => local(r)), ['2026-03-02 02:30', '2026-03-05 02:30', '2026-03-08 03:30', '2026-03-11 02:30'])
  })
})

t.test('hour and minute jobs count elapsed time: every real hour fires', async (t) => {
  t.test('across 2026-03-08', async (t) => {
    const runs = occurrences(every(1, 'hour', '2026-03-07 23:16'), '2026-03-08T07:00:00Z', 5)
    t.strictSame(runs.map((r) => local(r)), ['2026-03-07 23:16', '2026-03-08 00:16', '2026-03-08 01:16', '2026-03-08 03:16', '2026-03-08 04:16'])
    for (let i = 1; i < runs.length; i++) t.equal(ms(runs[i]!) - ms(runs[i - 1]!), HOUR)
  })
  t.test('across 2026-11-01: 01:16 twice, an hour apart', async (t) => {
    const runs = occurrences(every(1, 'hour', '2026-10-31 23:16'), '2026-11-01T06:00:00Z', 5)
    t.strictSame(runs, [
      '2026-11-01T06:16:00.000Z',
      '2026-11-01T07:16:00.000Z',
      '2026-11-01T08:16:00.000Z',
      '2026-11-01T09:16:00.000Z',
      '2026-11-01T10:16:00.000Z',
    ])
    t.strictSame(runs.map((r) => local(r)), ['2026-10-31 23:16', '2026-11-01 00:16', '2026-11-01 01:16', '2026-11-01 01:16', '2026-11-01 02:16'])
  })
  t.test('every 15 minutes through both nights: always 15 real minutes apart', async (t) => {
    for (const from of ['2026-03-08T08:00:00Z', '2026-11-01T07:00:00Z']) {
      const runs = occurrences(every(15, 'minute', '2026-01-01 00:05'), from, 16)
      for (let i = 1; i < runs.length; i++) t.equal(ms(runs[i]!) - ms(runs[i - 1]!), 15 * 60_000)
    }
  })
  t.test('a start years ago costs no walk', async (t) => {
    const config = every(1, 'minute', '2017-04-28 04:16')
    t.equal(iso(occurrenceAfter(config, ms('2026-03-08T10:00:30Z'))), '2026-03-08T10:01:00.000Z')
  })
})

t.test('months and years', async (t) => {
  t.test('monthly on the 31st runs on the last day of shorter months', async (t) => {
    const runs = occurrences(every(1, 'month', '2026-01-31 09:00'), '2026-01-01T00:00:00Z', 6)
    t.strictSame(runs.map((r) => local(r)), ['2026-01-31 09:00', '2026-02-28 09:00', '2026-03-31 09:00', '2026-04-30 09:00', '2026-05-31 09:00', '2026-06-30 09:00'])
    t.equal(runs[1], '2026-02-28T17:00:00.000Z', 'PST')
    t.equal(runs[2], '2026-03-31T16:00:00.000Z', 'PDT')
  })
  t.test('monthly on the 30th: Feb 29 in a leap year', async (t) => {
    const runs = occurrences(every(1, 'month', '2028-01-30 09:00'), '2028-01-01T00:00:00Z', 3)
    t.strictSame(runs.map((r) => local(r)), ['2028-01-30 09:00', '2028-02-29 09:00', '2028-03-30 09:00'])
  })
  t.test('every 2 months from Jan 31', async (t) => {
    const runs = occurrences(every(2, 'month', '2026-01-31 09:00'), '2026-01-01T00:00:00Z', 6)
    t.strictSame(runs.map((r) => local(r).slice(0, 10)), ['2026-01-31', '2026-03-31', '2026-05-31', '2026-07-31', '2026-09-30', '2026-11-30'])
  })
  t.test('yearly on Feb 29 runs on Feb 28 in common years', async (t) => {
    const runs = occurrences(every(1, 'year', '2028-02-29 09:00'), '2026-01-01T00:00:00Z', 5)
    t.strictSame(runs.map((r) => local(r)), ['2028-02-29 09:00', '2029-02-28 09:00', '2030-02-28 09:00', '2031-02-28 09:00', '2032-02-29 09:00'])
  })
  t.test('monthly at 02:30 on the 8th: 03:30 on 2026-03-08', async (t) => {
    const runs = occurrences(every(1, 'month', '2026-01-08 02:30'), '2026-02-01T00:00:00Z', 3)
    t.strictSame(runs.map((r) => local(r)), ['2026-02-08 02:30', '2026-03-08 03:30', '2026-04-08 02:30'])
  })
  t.test('an instant start keeps its wall time in tz', async (t) => {
    const runs = occurrences(every(1, 'month', '2026-01-15T17:00:00Z'), '2026-02-01T00:00:00Z', 3)
    t.strictSame(runs.map((r) => local(r)), ['2026-02-15 09:00', '2026-03-15 09:00', '2026-04-15 09:00'])
  })
})

t.test('date jobs run once', async (t) => {
  const once: JobConfig = { type: 'date', interval: null, unit: null, startDate: '2026-03-08 02:30', tz, missed: 'catch_up' }
  t.equal(iso(occurrenceAfter(once, ms('2026-03-01T00:00:00Z'))), '2026-03-08T10:30:00.000Z')
  t.equal(iso(occurrenceAtOrAfter(once, ms('2026-03-08T10:30:00Z'))), '2026-03-08T10:30:00.000Z')
  t.equal(occurrenceAfter(once, ms('2026-03-08T10:30:00Z')), null)
  t.equal(latestOccurrenceAtOrBefore(once, ms('2026-03-08T10:29:59Z')), null)
  t.equal(iso(latestOccurrenceAtOrBefore(once, ms('2027-01-01T00:00:00Z'))), '2026-03-08T10:30:00.000Z')
})

/** An independent reading of the rules, walking from the start: the answers must agree. */
function reference(config: JobConfig, count: number): string[] {
  const start = parseStartDate(config.startDate)!
  const anchor = new Date(start.kind === 'wall' ? start.wall : wallTimeOf(start.instant, config.tz))
  const out: string[] = []
  for (let k = 0; out.length < count; k++) {
    const n = k * config.interval!
    const [y, m, d] = [anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate()]
    const time = [anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds()] as const
    let wall: number
    if (config.unit === 'day') wall = Date.UTC(y, m, d + n, ...time)
    else {
      const [year, month] = config.unit === 'month' ? [y + Math.floor((m + n) / 12), (m + n) % 12] : [y + n, m]
      const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate()
      wall = Date.UTC(year, month, Math.min(d, lastDay), ...time)
    }
    out.push(iso(instantOf(wall, config.tz))!)
  }
  return out
}

t.test('occurrences agree with a walk from the start, and the latest due is consistent', async (t) => {
  const configs = [
    every(1, 'day', '2019-03-10 02:30'),
    every(5, 'day', '2019-11-03 01:30'),
    every(1, 'month', '2019-01-31 02:30'),
    every(3, 'month', '2019-08-29 23:59'),
    every(1, 'year', '2020-02-29 02:30'),
    every(2, 'year', '2019-03-08 02:30'),
    every(1, 'day', '2019-03-31 02:30', 'Europe/Berlin'),
    every(1, 'month', '2019-10-31 00:30', 'Australia/Lord_Howe'),
  ]
  for (const config of configs) {
    const count = config.unit === 'day' ? 3000 : config.unit === 'month' ? 120 : 12
    const expected = reference(config, count)
    // Jump in from far away, as the scheduler does, rather than walking.
    for (const index of [0, 1, Math.floor(count / 3), count - 2]) {
      const from = ms(expected[index]!)
      t.equal(iso(occurrenceAfter(config, from)), expected[index + 1], `${config.interval} ${config.unit} from ${config.startDate} ${config.tz}: after #${index}`)
      t.equal(iso(occurrenceAfter(config, from - 1)), expected[index], `at #${index}`)
      t.equal(iso(latestOccurrenceAtOrBefore(config, from)), expected[index], `latest at #${index}`)
      t.equal(iso(latestOccurrenceAtOrBefore(config, ms(expected[index + 1]!) - 1)), expected[index], `latest before #${index + 1}`)
    }
  }
})
