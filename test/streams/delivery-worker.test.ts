/**
 * The delivery worker on its own, over the real SQLite event store and a real HTTP
 * receiver: the events it records carry ids from the id generator it was given.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { SqliteEventStore } from '../../adapters/eventstore/sqlite.ts'
import { createHttpPusher } from '../../adapters/http-push.ts'
import { loadConfig } from '../../adapters/config.ts'
import { createLogger } from '../../adapters/logger.ts'
import { createMailer } from '../../adapters/mail.ts'
import { openDatabase } from '../../adapters/sqlite/database.ts'
import { DeliveryWorker } from '../../streams/reactors/delivery-worker.ts'
import { startReceiver } from '../helpers/deliveries.ts'

t.test('the delivery worker records its events with the injected id generator', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capsicum-worker-'))
  const db = openDatabase(dir)
  const eventStore = new SqliteEventStore(db)
  t.teardown(async () => {
    await eventStore.close()
    db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const receiver = await startReceiver(t, () => ({ status: 200 }))
  const logger = createLogger('silent')
  let issued = 0
  const newId = (): string => `00000000-0000-4000-8000-${String(++issued).padStart(12, '0')}`
  const worker = new DeliveryWorker({
    eventStore,
    now: () => new Date('2026-06-01T12:00:00.000Z'),
    newId,
    logger,
    mailer: createMailer(loadConfig({ DATA_DIR: dir }), logger),
    mailConfigured: false,
    sms: undefined,
    httpPush: createHttpPusher({ allowPrivate: true, timeoutMs: 5000 }),
  })

  await worker.request(
    {
      channel: 'http_push',
      request: { method: 'POST', url: `http://127.0.0.1:${receiver.port}/hook`, headers: {}, payload: { on: true } },
      deliveryId: 'delivery-1',
      accountId: 'account-worker',
      cause: { type: 'job', id: 'job-1', eventId: 'fired-1', title: 'Ping', effect: { kind: 'http_push', index: 0 } },
      maxAttempts: 3,
    },
    { account_id: 'account-worker', client_id: null, correlation_id: 'fired-1', causation_id: 'fired-1' },
  )
  await worker.attempt('delivery-1')

  t.equal(receiver.received.length, 1, 'the push was made')
  const events = await eventStore.readStream('delivery-delivery-1')
  t.strictSame(
    events.map((event) => event.type),
    ['DeliveryRequested', 'DeliveryAttempted', 'DeliverySucceeded'],
  )
  t.strictSame(
    events.map((event) => event.id),
    events.map((_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`),
    'every event id came from the injected generator',
  )
})
