/** How times and values read on the pages. */
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
]

/** "3 minutes ago", "just now"; "never" for 0 (the API's "no reading yet"). */
export function ago(epochMs: number, now = Date.now()): string {
  if (!epochMs) return 'never'
  const seconds = Math.round((epochMs - now) / 1000)
  if (Math.abs(seconds) < 45) return 'just now'
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit)
  }
  return relative.format(Math.round(seconds / 60), 'minute')
}

export function dateTime(iso: string | number): string {
  return new Date(iso).toLocaleString()
}

export function valueText(value: unknown): string {
  if (Array.isArray(value)) return value.join(', ')
  return String(value)
}

export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
