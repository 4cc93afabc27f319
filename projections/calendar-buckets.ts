/**
 * Calendar buckets in an IANA time zone, for the history endpoint's `interval`: minutes
 * and hours are fixed lengths aligned to the zone's clock; days, weeks (from Monday) and
 * months follow its calendar, so a day is 23 or 25 hours long across a DST change. The
 * zone's offsets come from Intl.DateTimeFormat (no time zone library).
 */
import { wallClockFormatter } from '../domain/time-zone.ts'

export const intervals = ['minute', 'hour', 'day', 'week', 'month'] as const
export type Interval = (typeof intervals)[number]

const minuteMs = 60_000
const hourMs = 3_600_000
const dayMs = 86_400_000


/** True when `timeZone` is an IANA zone (or UTC) this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    wallClockFormatter(timeZone)
    return true
  } catch {
    return false
  }
}

interface WallClock {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

function wallClockOf(instant: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {}
  for (const part of wallClockFormatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! }
}

/** The wall clock as if it were UTC: comparable numbers for local times. */
const wallMs = (w: WallClock): number => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second)

/** How far the zone's clock is ahead of UTC at `instant`, in ms. */
export function offsetAt(instant: number, timeZone: string): number {
  const whole = Math.floor(instant / 1000) * 1000
  return wallMs(wallClockOf(whole, timeZone)) - whole
}

/**
 * The instant the zone's clock shows `local` (a wall time written as UTC ms). A time
 * shown twice (clocks set back) gives the first; a time skipped (clocks set forward) is
 * read with the offset before the change, so a skipped midnight gives the moment of the
 * change, when that day really begins.
 */
export function instantOf(local: number, timeZone: string): number {
  const before = offsetAt(local - dayMs, timeZone)
  const candidates = [...new Set([before, offsetAt(local, timeZone), offsetAt(local + dayMs, timeZone)])]
    .map((offset) => local - offset)
    .filter((instant) => offsetAt(instant, timeZone) === local - instant)
  return candidates.length > 0 ? Math.min(...candidates) : local - before
}

const millis = (instant: number): number => ((instant % 1000) + 1000) % 1000

/** Start of the bucket holding `instant`. */
export function bucketStart(instant: number, interval: Interval, timeZone: string): number {
  const w = wallClockOf(instant, timeZone)
  switch (interval) {
    case 'minute':
      return instant - w.second * 1000 - millis(instant)
    case 'hour':
      return instant - w.minute * minuteMs - w.second * 1000 - millis(instant)
    case 'day':
      return instantOf(Date.UTC(w.year, w.month - 1, w.day), timeZone)
    case 'week': {
      const midnight = Date.UTC(w.year, w.month - 1, w.day)
      const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7
      return instantOf(midnight - sinceMonday * dayMs, timeZone)
    }
    case 'month':
      return instantOf(Date.UTC(w.year, w.month - 1, 1), timeZone)
  }
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, interval: Interval, timeZone: string): number {
  switch (interval) {
    case 'minute':
      return start + minuteMs
    case 'hour':
      return start + hourMs
    case 'day':
    case 'week':
    case 'month': {
      const w = wallClockOf(start, timeZone)
      const local =
        interval === 'month' ? Date.UTC(w.year, w.month, 1) : Date.UTC(w.year, w.month - 1, w.day + (interval === 'day' ? 1 : 7))
      return instantOf(local, timeZone)
    }
  }
}

/** A lower bound of the bucket count, cheap enough to refuse a huge request before building it. */
export function minimumBucketCount(from: number, to: number, interval: Interval): number {
  const shortest = { minute: minuteMs, hour: hourMs, day: 25 * hourMs, week: 7 * dayMs + hourMs, month: 31 * dayMs + hourMs }[interval]
  return Math.floor((to - from) / shortest)
}

/**
 * The boundaries of the buckets that meet [from, to): bucket i is [b[i], b[i + 1]). The
 * first starts at or before `from`, the last ends at or after `to`.
 */
export function bucketBoundaries(from: number, to: number, interval: Interval, timeZone: string): number[] {
  const boundaries = [bucketStart(from, interval, timeZone)]
  while (boundaries[boundaries.length - 1]! < to) {
    const last = boundaries[boundaries.length - 1]!
    const next = nextBucket(last, interval, timeZone)
    // A zone change that would not move forward must not loop.
    boundaries.push(next > last ? next : last + minuteMs)
  }
  if (boundaries.length === 1) boundaries.push(nextBucket(boundaries[0]!, interval, timeZone))
  return boundaries
}
