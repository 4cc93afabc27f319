/**
 * Times as ISO 8601 text, for the paths every reading takes. Readings arrive many to a
 * millisecond and a batch's readings share their time: formatting one with
 * `Date#toISOString` costs about 0.5 µs and parsing one with `Date.parse` about 0.2 µs, so
 * each of these remembers its last answer. Make one per caller: callers interleaving on
 * one would keep replacing each other's.
 */

/** `date.toISOString()`, remembering the last millisecond's text. */
export function isoTextOfTimes(): (date: Date) => string {
  let lastMs = NaN
  let lastText = ''
  return (date) => {
    const ms = date.getTime()
    if (ms !== lastMs) [lastMs, lastText] = [ms, date.toISOString()]
    return lastText
  }
}

/** `Date.parse(text)`, remembering the last text's time. */
export function timesOfIsoText(): (text: string) => number {
  let lastText: string | undefined
  let lastMs = NaN
  return (text) => {
    if (text !== lastText) [lastText, lastMs] = [text, Date.parse(text)]
    return lastMs
  }
}
