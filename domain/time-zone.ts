/**
 * IANA time zones through Intl, shared by the job schedules and the history buckets: one
 * cached formatter per zone that splits an instant into the zone's wall-clock fields.
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

/** Throws a RangeError for a zone this runtime does not know. */
export function wallClockFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    // Zones come from requests: bound the cache.
    if (formatters.size > 1000) formatters.clear()
    formatters.set(timeZone, formatter)
  }
  return formatter
}
