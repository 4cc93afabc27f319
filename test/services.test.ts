/**
 * The composition root's services: started in order, stopped in reverse by one function,
 * on shutdown and on a failed start alike (then only what started); a service's health
 * counts only while it runs here.
 */
import t from 'tap'
import { serviceGroup, ServiceStack, type Service } from '../adapters/services.ts'

const silent = { info: () => {}, warn: () => {}, error: () => {} }

function recording(log: string[], name: string, options: { failStart?: boolean; unwell?: string } = {}): Service {
  return {
    name,
    start: async () => {
      if (options.failStart) throw new Error(`${name} cannot start`)
      log.push(`start ${name}`)
    },
    stop: async () => void log.push(`stop ${name}`),
    ...(options.unwell ? { health: async () => Promise.reject(new Error(options.unwell)) } : {}),
  }
}

t.test('started in order, stopped in reverse', async (t) => {
  const log: string[] = []
  const stack = new ServiceStack(silent)
  await stack.start([recording(log, 'stores'), serviceGroup('projector', [recording(log, 'projections'), recording(log, 'reactors')], silent), recording(log, 'http')])
  await stack.stop()
  t.strictSame(log, ['start stores', 'start projections', 'start reactors', 'start http', 'stop http', 'stop reactors', 'stop projections', 'stop stores'])
})

t.test('a failed start stops what started, in reverse, and fails', async (t) => {
  const log: string[] = []
  const stack = new ServiceStack(silent)
  const services = [recording(log, 'stores'), serviceGroup('projector', [recording(log, 'projections'), recording(log, 'reactors', { failStart: true })], silent), recording(log, 'http')]
  await t.rejects(stack.start(services), /reactors cannot start/)
  t.strictSame(log, ['start stores', 'start projections', 'stop reactors', 'stop projections', 'stop stores'], 'the failed one is stopped (what of it started), then the rest, last first; http never started')
})

t.test('a health counts only while its service runs here', async (t) => {
  const log: string[] = []
  const stack = new ServiceStack(silent)
  let active = false
  const standby: Service = { name: 'lease', start: async () => {}, stop: async () => {}, members: [recording(log, 'scheduler', { unwell: 'scheduler is stuck' })], active: () => active }
  const notStarted = recording(log, 'later', { unwell: 'never checked' })
  await stack.start([standby])
  const checks = stack.healthChecks([standby, notStarted])
  t.strictSame(checks.map((c) => c.name), ['scheduler', 'later'])
  for (const check of checks) await t.resolves(check.check(), `${check.name}: fine while it does not run here`)
  active = true
  await t.rejects(checks[0]!.check(), /scheduler is stuck/, 'its own health once the lease is held here')
})
