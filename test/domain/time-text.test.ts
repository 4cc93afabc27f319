import t from 'tap'
import { isoTextOfTimes, timesOfIsoText } from '../../domain/time-text.ts'

t.test('isoTextOfTimes formats as Date#toISOString, a repeated millisecond too', async (t) => {
  const isoText = isoTextOfTimes()
  for (const ms of [0, 1765000000123, 1765000000123, 1765000000124, -1, 8.64e15]) t.equal(isoText(new Date(ms)), new Date(ms).toISOString())
})

t.test('timesOfIsoText parses as Date.parse, a repeated text too', async (t) => {
  const timeOf = timesOfIsoText()
  for (const text of ['2026-12-07T16:00:00.000Z', '2026-12-07T16:00:00.000Z', '2026-12-07T17:00:00+01:00', 'not a time', 'not a time', '2026-12-07T16:00:00.001Z']) {
    t.same(timeOf(text), Date.parse(text), text)
  }
})
