/**
 * When a job runs: pure schedule arithmetic, in UTC milliseconds.
 *
 * `start_date` without an offset ("2017-04-28 04:16") is a wall-clock time in the job's
 * IANA zone `tz`; with `Z` or an offset it is an instant. Occurrences:
 *
 * - `date`: once, at the start.
 * - `interval` in minutes or hours: elapsed time, `start + k × interval`. Across a DST
 *   change they keep firing every real hour (a 1-hour job fires at 01:16 PDT, 01:16 PST).
 * - `interval` in days, months, years: wall-clock time, computed by rrule in "floating"
 *   time (a UTC Date whose fields are the local wall time), then placed in the zone with
 *   Intl offsets. A daily 09:00 job stays at 09:00 local across DST.
 * - A wall time the zone skips (02:30 on 2026-03-08 in America/Los_Angeles) is read with
 *   the offset before the gap, so it runs at 03:30 PDT, as RFC 5545 and Temporal's
 *   `compatible` disambiguation do. A wall time the zone repeats (01:30 on 2026-11-01) is
 *   its first instance (PDT): a daily job runs once that day.
 * - A monthly job on the 29th-31st runs on the last day of shorter months (Jan 31, Feb 28,
 *   Mar 31, Apr 30), and a yearly job on Feb 29 runs on Feb 28 in common years: a monthly
 *   job never silently skips a month (RFC 5545 would skip it).
 *
 * Times have one-second precision: the start's milliseconds are dropped.
 */
import rrule from 'rrule'
import { wallClockFormatter } from '../time-zone.ts'

const { RRule } = rrule

export const scheduleTypes = ['interval', 'date'] as const
export type ScheduleType = (typeof scheduleTypes)[number]

export const scheduleUnits = ['minute', 'hour', 'day', 'month', 'year'] as const
export type ScheduleUnit = (typeof scheduleUnits)[number]

/** What happens to occurrences missed while no scheduler ran. */
export const missedPolicies = ['catch_up', 'skip'] as const
export type MissedPolicy = (typeof missedPolicies)[number]

export interface JobConfig {
  readonly type: ScheduleType
  /** how many units between runs; null for a `date` job */
  readonly interval: number | null
  readonly unit: ScheduleUnit | null
  /** as the client wrote it */
  readonly startDate: string
  readonly tz: string
  readonly missed: MissedPolicy
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

// Time zones ---------------------------------------------------------------------------

/** The zone's canonical IANA name ("america/los_angeles" → "America/Los_Angeles"); null if there is no such zone. */
export function canonicalTimeZone(tz: string): string | null {
  // Intl also takes offsets ("+01:00"): not IANA names, and blind to daylight saving.
  if (!/^[A-Za-z]/.test(tz)) return null
  try {
    return wallClockFormatter(tz).resolvedOptions().timeZone
  } catch {
    return null
  }
}

/** The wall time in `tz` at an instant, as floating milliseconds. */
export function wallTimeOf(instant: number, tz: string): number {
  const fields: Record<string, number> = {}
  for (const part of wallClockFormatter(tz).formatToParts(instant)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value)
  }
  const wall = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!)
  return wall + (((instant % SECOND) + SECOND) % SECOND)
}

/**
 * The instant a wall time in `tz` names. Repeated wall times give the earlier instant;
 * skipped ones are read with the offset before the gap (later by the gap's length).
 */
export function instantOf(wall: number, tz: string): number {
  const offsetBefore = wallTimeOf(wall - DAY, tz) - (wall - DAY)
  const offsetAfter = wallTimeOf(wall + DAY, tz) - (wall + DAY)
  const candidates = [wall - offsetBefore, wall - offsetAfter].filter((instant) => wallTimeOf(instant, tz) === wall)
  return candidates.length > 0 ? Math.min(...candidates) : wall - offsetBefore
}

// start_date ---------------------------------------------------------------------------

export type StartDate = { readonly kind: 'wall'; readonly wall: number } | { readonly kind: 'instant'; readonly instant: number }

const startPattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/** "2017-04-28 04:16", "2017-04-28T04:16:00", "2017-04-28" (wall times), or with `Z`/`+02:00` (instants); null otherwise. */
export function parseStartDate(text: string): StartDate | null {
  const match = startPattern.exec(text.trim())
  if (!match) return null
  const [, y, mo, d, h = '00', mi = '00', s = '00', zone] = match
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number]
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null
  const wall = Date.UTC(year, month - 1, day, hour, minute, second)
  if (new Date(wall).getUTCDate() !== day) return null
  if (zone === undefined) return { kind: 'wall', wall }
  if (zone.toUpperCase() === 'Z') return { kind: 'instant', instant: wall }
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')
  if (offsetMinutes > 18 * 60) return null
  return { kind: 'instant', instant: wall - sign * offsetMinutes * MINUTE }
}

function startOf(config: JobConfig): StartDate {
  const start = parseStartDate(config.startDate)
  if (!start) throw new RangeError(`Invalid start_date ${JSON.stringify(config.startDate)}`)
  return start
}

/** The first run's instant (a `date` job's only one). */
export function startInstant(config: JobConfig): number {
  const start = startOf(config)
  return start.kind === 'instant' ? start.instant : instantOf(start.wall, config.tz)
}

// Occurrences --------------------------------------------------------------------------

const elapsedStep = (config: JobConfig): number | null =>
  config.unit === 'minute' ? config.interval! * MINUTE : config.unit === 'hour' ? config.interval! * HOUR : null

type Rule = InstanceType<typeof RRule>

/**
 * The rrule of a day/month/year job in floating time. It starts a whole number of periods
 * before `near` (on the grid the job's start defines), so that finding an occurrence
 * does not walk from a start years ago.
 */
function calendarRule(config: JobConfig, near: number): Rule {
  const start = startOf(config)
  const anchor = new Date(start.kind === 'wall' ? start.wall : wallTimeOf(start.instant, config.tz))
  const interval = config.interval!
  const [year, month, day] = [anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate()]
  const time = [anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds()] as const
  const nearDate = new Date(near)
  /** whole periods that fit between the start and a little before `near` */
  const periodsBefore = (elapsed: number): number => Math.max(0, Math.floor(elapsed / interval))
  switch (config.unit) {
    case 'day': {
      const shift = periodsBefore((near - 3 * DAY - anchor.getTime()) / DAY) * interval
      return new RRule({ freq: RRule.DAILY, interval, dtstart: new Date(Date.UTC(year, month, day + shift, ...time)) })
    }
    case 'month': {
      const months = (nearDate.getUTCFullYear() - year) * 12 + nearDate.getUTCMonth() - month
      const shift = periodsBefore(months - 2) * interval
      // the 29th-31st: the last of [28 .. day] that the month has
      const days = day <= 28 ? { bymonthday: [day] } : { bymonthday: range(28, day), bysetpos: -1 }
      const dtstart = new Date(Date.UTC(year, month + shift, shift === 0 ? day : 1, ...time))
      return new RRule({ freq: RRule.MONTHLY, interval, dtstart, ...days })
    }
    case 'year': {
      const shift = periodsBefore(nearDate.getUTCFullYear() - year - 2) * interval
      const days = month === 1 && day === 29 ? { bymonthday: [28, 29], bysetpos: -1 } : { bymonthday: [day] }
      const dtstart = new Date(Date.UTC(year + shift, shift === 0 ? month : 0, shift === 0 ? day : 1, ...time))
      return new RRule({ freq: RRule.YEARLY, interval, dtstart, bymonth: [month + 1], ...days })
    }
    default:
      throw new RangeError(`Not a calendar unit: ${String(config.unit)}`)
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** The first occurrence strictly after `after`; null when there is none (a `date` job that ran). */
export function occurrenceAfter(config: JobConfig, after: number): number | null {
  if (config.type === 'date') {
    const at = startInstant(config)
    return at > after ? at : null
  }
  const step = elapsedStep(config)
  if (step !== null) {
    const start = startInstant(config)
    if (start > after) return start
    return start + (Math.floor((after - start) / step) + 1) * step
  }
  const tz = config.tz
  const near = wallTimeOf(after, tz)
  const rule = calendarRule(config, near)
  // Wall times and instants differ by less than a day: start two days back, walk forward.
  let wall = rule.after(new Date(near - 2 * DAY), true)
  while (wall && instantOf(wall.getTime(), tz) <= after) wall = rule.after(wall, false)
  return wall ? instantOf(wall.getTime(), tz) : null
}

/** The first occurrence at or after `at`. */
export const occurrenceAtOrAfter = (config: JobConfig, at: number): number | null => occurrenceAfter(config, at - 1)

/** The latest occurrence at or before `at`: the one a scheduler fires at `at`; null when none is due yet. */
export function latestOccurrenceAtOrBefore(config: JobConfig, at: number): number | null {
  if (config.type === 'date') {
    const start = startInstant(config)
    return start <= at ? start : null
  }
  const step = elapsedStep(config)
  if (step !== null) {
    const start = startInstant(config)
    return start > at ? null : start + Math.floor((at - start) / step) * step
  }
  const tz = config.tz
  const near = wallTimeOf(at, tz)
  const rule = calendarRule(config, near)
  let wall = rule.before(new Date(near + 2 * DAY), true)
  while (wall && instantOf(wall.getTime(), tz) > at) wall = rule.before(wall, false)
  return wall ? instantOf(wall.getTime(), tz) : null
}
