/**
 * KurrentDB (EventStoreDB) against the EventStore contract, when EVENTSTORE_URL is set
 * (e.g. `kurrentdb://localhost:2113?tls=false`, what `docker compose up -d` starts).
 * Without it the suite is reported as SKIPPED with the reason: nothing here can pass
 * without a server.
 *
 * One KurrentDB holds every case, so each case gets storage of its own through a fresh
 * stream prefix: the adapter only ever sees streams under it. Reopening opens a new client
 * on the same prefix.
 *
 * Beyond the shared contract, one case only a distributed engine meets: a live subscription
 * resumes, without losing or repeating an event, after the server restarts. It needs
 * EVENTSTORE_RESTART_COMMAND (e.g. `docker compose restart kurrentdb`) and is skipped,
 * with the reason, without it.
 */
import { execSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Test } from 'tap'
import type { EventToAppend, RecordedEvent } from '../../domain/ports/event-store.ts'
import { KurrentEventStore } from '../../adapters/eventstore/kurrentdb.ts'
import { eventStoreContract, type OpenedEventStore } from './event-store.contract.ts'

const url = process.env.EVENTSTORE_URL?.trim()
const restartCommand = process.env.EVENTSTORE_RESTART_COMMAND?.trim()
const notSet = 'EVENTSTORE_URL is not set: the KurrentDB adapter was not exercised (start one with `docker compose up -d kurrentdb`, then `npm run test:scale`)'

function openOnFreshPrefix(connectionString: string) {
  return async (t: Test): Promise<OpenedEventStore> => {
    const prefix = `c${randomUUID().replaceAll('-', '')}-`
    const closers: (() => Promise<void>)[] = []
    t.teardown(async () => {
      for (const close of closers.reverse()) await close()
    })
    const openAt = (): OpenedEventStore => {
      const store = new KurrentEventStore({ connectionString, streamPrefix: prefix })
      let closing: Promise<void> | undefined
      const close = (): Promise<void> => (closing ??= store.close())
      closers.push(close)
      return {
        store,
        close,
        reopen: async () => {
          await close()
          return openAt()
        },
      }
    }
    return openAt()
  }
}

if (!url) {
  t.test('KurrentDB: EventStore contract', { skip: notSet }, async () => {})
  t.test('KurrentDB: a subscription resumes after the server restarts', { skip: notSet }, async () => {})
} else {
  const open = openOnFreshPrefix(url)
  eventStoreContract(t, 'KurrentDB', open)

  t.test(
    'KurrentDB: a subscription resumes after the server restarts',
    restartCommand ? {} : { skip: 'EVENTSTORE_RESTART_COMMAND is not set (e.g. `docker compose restart kurrentdb`): the restart case was not run' },
    async (t) => {
      const prefix = `c${randomUUID().replaceAll('-', '')}-`
      const drops: unknown[] = []
      const store = new KurrentEventStore({ connectionString: url, streamPrefix: prefix, onSubscriptionDropped: (error) => drops.push(error) })
      t.teardown(() => store.close())
      const event = (): EventToAppend => ({
        id: randomUUID(),
        type: 'ThingUpdated',
        data: { at: randomUUID() },
        metadata: {
          actor: { type: 'system', id: 'contract' },
          account_id: null,
          client_id: null,
          correlation_id: 'c',
          causation_id: 'c',
          time: '2026-01-01T00:00:00.000Z',
        },
      })
      const delivered: RecordedEvent[] = []
      let onDelivery: (() => void) | undefined
      const stream = `thing-${randomUUID()}`
      const before = event()
      await store.appendToStream(stream, [before], { expectedRevision: 'no_stream' })
      const subscription = store.subscribeToAll({ fromPosition: null }, async (batch) => {
        delivered.push(...batch)
        onDelivery?.()
      })
      t.teardown(() => subscription.stop())
      const until = (condition: () => boolean): Promise<void> =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('gave up after 120 s')), 120_000)
          const check = (): void => {
            if (condition()) {
              clearTimeout(timer)
              onDelivery = undefined
              resolve()
            }
          }
          onDelivery = check
          check()
        })
      await until(() => delivered.some((e) => e.id === before.id))

      execSync(restartCommand!, { stdio: 'inherit' })
      // Appending needs the server back: retry until it answers (bounded by the safety timeout).
      const after = event()
      for (let attempt = 0; ; attempt++) {
        try {
          await store.appendToStream(stream, [after], { expectedRevision: 0 })
          break
        } catch (error) {
          if (attempt > 120) throw error
          await new Promise((resolve) => setTimeout(resolve, 1000))
        }
      }
      await until(() => delivered.some((e) => e.id === after.id))
      t.strictSame(
        delivered.map((e) => e.id),
        [before.id, after.id],
        'the event before the restart once, then the one after it: nothing lost, nothing repeated',
      )
      t.ok(drops.length >= 1, 'the adapter saw the connection drop and resubscribed')
    },
  )
}
