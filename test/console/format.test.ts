/** How the dashboard words times: last_online as "3 minutes ago". */
import t from 'tap'
import { ago } from '../../commands/console/web/format.ts'

t.test('ago', async (t) => {
  const now = Date.parse('2026-03-08T12:00:00Z')
  t.equal(ago(0, now), 'never', '0 is the API\'s "never online"')
  t.equal(ago(now - 10_000, now), 'just now')
  t.equal(ago(now - 3 * 60_000, now), '3 minutes ago')
  t.equal(ago(now - 2 * 3600_000, now), '2 hours ago')
  t.equal(ago(now - 24 * 3600_000, now), 'yesterday')
  t.equal(ago(now - 3 * 7 * 24 * 3600_000, now), '3 weeks ago')
  t.equal(ago(now - 400 * 24 * 3600_000, now), 'last year')
})
