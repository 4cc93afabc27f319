/** GET /v1.1/things/{id}/stream: Server-Sent Events of new readings, resumed with Last-Event-ID without a gap or a duplicate. */
import t from 'tap'
import type { EventMetadata } from '../../domain/ports/event-store.ts'
import { telemetryStreamOf, type SensorReadingCorrected, type SensorReadingRecorded, type SensorReadingsRecorded } from '../../domain/telemetry/telemetry.ts'
import { within } from '../helpers/async.ts'
import { deviceAccount } from '../helpers/mqtt.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { feed, readingsOf, reading } from './fixtures.ts'

interface ServerSentEvent {
  id: string | undefined
  event: string | undefined
  data: string
}

/** An open event stream: events are parsed as they arrive; `next(n)` waits for n more. */
class EventStream {
  readonly events: ServerSentEvent[] = []
  comments = 0
  private buffer = ''
  private taken = 0
  private wake: (() => void) | undefined
  private ended = false

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {}

  static async open(server: TestServer, thingId: string, token: string, headers: Record<string, string> = {}, query = ''): Promise<EventStream> {
    const abort = new AbortController()
    const response = await fetch(`${server.url}/v1.1/things/${thingId}/stream${query}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
      signal: abort.signal,
    })
    const stream = new EventStream(response, abort)
    void stream.pump()
    return stream
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder()
    try {
      for await (const chunk of this.response.body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          const block = this.buffer.slice(0, end)
          this.buffer = this.buffer.slice(end + 2)
          const fields: Partial<ServerSentEvent> = {}
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments++
            else if (line.startsWith('id: ')) fields.id = line.slice(4)
            else if (line.startsWith('event: ')) fields.event = line.slice(7)
            else if (line.startsWith('data: ')) data.push(line.slice(6))
          }
          if (data.length > 0) this.events.push({ id: fields.id, event: fields.event, data: data.join('\n') })
          this.wake?.()
        }
      }
    } catch {
      // aborted by the test
    }
    this.ended = true
    this.wake?.()
  }

  /** The next `count` events (waits for them, within a generous bound). */
  async next(count: number): Promise<ServerSentEvent[]> {
    await within(
      (async () => {
        while (this.events.length < this.taken + count && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve))
      })(),
      `${count} server-sent events`,
      20_000,
    )
    const taken = this.events.slice(this.taken, this.taken + count)
    this.taken += taken.length
    return taken
  }

  get unread(): number {
    return this.events.length - this.taken
  }

  close(): void {
    this.abort.abort()
  }
}

const valuesOf = (events: ServerSentEvent[]) => events.map((e) => (JSON.parse(e.data) as { value: unknown }).value)

t.test('live readings as Server-Sent Events, resumed without a gap or a duplicate', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server, { things: 2 })
  const [a, b] = account.thingIds.map((thingId) => ({ thingId, accountId: account.accountId }))
  const at = (second: number) => `2026-05-01T10:00:${String(second).padStart(2, '0')}.000Z`

  // A reading before anyone listens: a stream opened without Last-Event-ID starts after it.
  await feed(server, [readingsOf(a!, at(0), [reading('1', 0)])])
  const first = await EventStream.open(server, a!.thingId, account.token)
  t.teardown(() => first.close())
  t.equal(first.response.status, 200)
  t.match(first.response.headers.get('content-type'), /^text\/event-stream/)

  await feed(server, [
    readingsOf(a!, at(1), [reading('1', 1), reading('2', 2)]),
    readingsOf(b!, at(2), [reading('1', 99)]),
    { kind: 'sys', key: 'model', value: 'Python', ...a!, receivedAt: at(3) },
    readingsOf(a!, at(4), [reading('1', 3)]),
  ])
  const seen = await first.next(3)
  t.strictSame(valuesOf(seen), [1, 2, 3], 'the thing\'s new readings, in order, none of another thing')
  t.strictSame(seen.map((e) => e.event), ['reading', 'reading', 'reading'])
  t.strictSame(JSON.parse(seen[0]!.data), { channel: '1', value: 1, type: 'temp', unit: 'c', timestamp: at(1) })
  t.ok(first.comments >= 1, 'a comment opens the stream')
  const lastId = seen[seen.length - 1]!.id!
  first.close()

  // Missed while disconnected.
  await feed(server, [
    readingsOf(a!, at(5), [reading('1', 4)]),
    { kind: 'connected', username: account.username, ...a!, receivedAt: at(6) },
    readingsOf(a!, at(7), [reading('1', 5), reading('3', [1, 2], 'accel', 'g')]),
  ])

  const resumed = await EventStream.open(server, a!.thingId, account.token, { 'Last-Event-ID': lastId })
  t.teardown(() => resumed.close())
  t.strictSame(valuesOf(await resumed.next(3)), [4, 5, [1, 2]], 'exactly what was missed')
  await feed(server, [readingsOf(a!, at(8), [reading('1', 6)])])
  t.strictSame(valuesOf(await resumed.next(1)), [6], 'then live')
  t.equal(resumed.unread, 0, 'and nothing twice')
  resumed.close()

  await t.test('?last_event_id= resumes the same way', async (t) => {
    const again = await EventStream.open(server, a!.thingId, account.token, {}, `?last_event_id=${lastId}`)
    t.teardown(() => again.close())
    t.strictSame(valuesOf(await again.next(4)), [4, 5, [1, 2], 6])
    again.close()
  })

  await t.test('several streams of the same thing each get every reading', async (t) => {
    const one = await EventStream.open(server, a!.thingId, account.token)
    const two = await EventStream.open(server, a!.thingId, account.token)
    t.teardown(() => {
      one.close()
      two.close()
    })
    await feed(server, [readingsOf(a!, at(9), [reading('1', 7)])])
    t.strictSame(valuesOf(await one.next(1)), [7])
    t.strictSame(valuesOf(await two.next(1)), [7])
  })

  await t.test('refused like the other thing routes', async (t) => {
    t.equal((await server.api('GET', `/v1.1/things/${a!.thingId}/stream`, { token: server.tokenFor('account-other') })).status, 404)
    t.equal((await server.api('GET', `/v1.1/things/${a!.thingId}/stream`)).status, 401)
    const bad = await server.api<{ details: { field: string }[] }>('GET', `/v1.1/things/${a!.thingId}/stream`, { token: account.token, headers: { 'Last-Event-ID': 'abc' } })
    t.equal(bad.status, 400)
    t.equal(bad.body.details[0]?.field, 'Last-Event-ID')
  })

  await t.test('an open stream does not hold up a shutdown', async (t) => {
    const open = await EventStream.open(server, a!.thingId, account.token)
    t.teardown(() => open.close())
    const started = Date.now()
    await server.close()
    t.ok(Date.now() - started < 5000, 'closed without waiting for the shutdown timeout')
  })
})

t.test('readings recorded together: a message each, `r.i`, resumed from within an event', async (t) => {
  const server = await startTestServer(t)
  const account = await deviceAccount(server)
  const thing = { thingId: account.thingIds[0]!, accountId: account.accountId }
  const stream = telemetryStreamOf(thing.thingId)
  const at = (second: number) => `2026-05-02T10:00:${String(second).padStart(2, '0')}.000Z`
  const { eventStore } = server.capsicum
  /** the revision of the thing's last SensorReadingsRecorded */
  const lastBatch = async () => {
    const events = await eventStore.readStream(stream)
    const batch = events.filter((e) => e.type === 'SensorReadingsRecorded').pop()
    t.ok(batch, 'the processor recorded the readings together')
    return batch as typeof batch & { type: 'SensorReadingsRecorded'; data: SensorReadingsRecorded['data'] }
  }
  const idsOf = (events: ServerSentEvent[]) => events.map((e) => e.id)

  const live = await EventStream.open(server, thing.thingId, account.token)
  t.teardown(() => live.close())
  await feed(server, [readingsOf(thing, at(0), [reading('1', 1), reading('2', 2), reading('3', [1, 2], 'accel', 'g')])])
  const batch = await lastBatch()
  const r = batch.revision
  t.equal(batch.data.readings.length, 3)
  const three = await live.next(3)
  t.strictSame(idsOf(three), [`${r}.0`, `${r}.1`, `${r}.2`], 'one message per reading, `r.i`')
  t.strictSame(three.map((e) => e.event), ['reading', 'reading', 'reading'])
  t.strictSame(valuesOf(three), [1, 2, [1, 2]])
  t.strictSame(JSON.parse(three[2]!.data), { channel: '3', value: [1, 2], type: 'accel', unit: 'g', timestamp: at(0) })

  await feed(server, [readingsOf(thing, at(1), [reading('1', 4)])])
  const r2 = (await lastBatch()).revision
  t.strictSame(idsOf(await live.next(1)), [`${r2}.0`])

  await t.test('after `r.0`: the rest of revision r, then what came later, without `r.0` again', async (t) => {
    const resumed = await EventStream.open(server, thing.thingId, account.token, { 'Last-Event-ID': `${r}.0` })
    t.teardown(() => resumed.close())
    const missed = await resumed.next(3)
    t.strictSame(idsOf(missed), [`${r}.1`, `${r}.2`, `${r2}.0`])
    t.strictSame(valuesOf(missed), [2, [1, 2], 4])
    await feed(server, [readingsOf(thing, at(2), [reading('1', 5), reading('1', 6)])])
    const r3 = (await lastBatch()).revision
    t.strictSame(idsOf(await resumed.next(2)), [`${r3}.0`, `${r3}.1`], 'then live')
    t.strictSame(idsOf(await live.next(2)), [`${r3}.0`, `${r3}.1`])
    t.equal(resumed.unread, 0, 'nothing twice')
    t.notOk(resumed.events.some((e) => e.id === `${r}.0`), 'r.0 is not sent again')
  })

  await t.test('after the last reading of an event (`?last_event_id=r.2`), or after `r`: from the next revision', async (t) => {
    const byQuery = await EventStream.open(server, thing.thingId, account.token, {}, `?last_event_id=${r}.2`)
    t.teardown(() => byQuery.close())
    t.strictSame(valuesOf(await byQuery.next(3)), [4, 5, 6])
    const byRevision = await EventStream.open(server, thing.thingId, account.token, { 'Last-Event-ID': String(r) })
    t.teardown(() => byRevision.close())
    t.strictSame(valuesOf(await byRevision.next(3)), [4, 5, 6])
    t.equal(byQuery.unread + byRevision.unread, 0)
  })

  // From here on the thing's stream is written directly (as old logs hold it), so nothing is fed any more.
  const metadata: EventMetadata = {
    actor: { type: 'system', id: 'telemetry-processor' },
    account_id: thing.accountId,
    client_id: null,
    correlation_id: 'stream-test',
    causation_id: 'stream-test',
    time: at(9),
  }
  const recordedSoFar = await eventStore.readStream(stream)
  const head = recordedSoFar[recordedSoFar.length - 1]!
  const newest = await lastBatch()
  // the processor's own key, so its state (the last record recorded) stays as it is
  const lastKey = newest.data.readings[newest.data.readings.length - 1]!.key

  await t.test('a reading recorded alone (the old event) keeps the id `r`', async (t) => {
    const old: SensorReadingRecorded['data'] = { ...thing, key: lastKey, channel: '7', type: 'temp', unit: 'c', value: 42, at: at(3), source: 'mqtt' }
    await eventStore.appendToStream(stream, [{ id: crypto.randomUUID(), type: 'SensorReadingRecorded', data: old, metadata }], { expectedRevision: head.revision })
    const [message] = await live.next(1)
    t.equal(message!.id, String(head.revision + 1))
    t.equal(message!.event, 'reading')
    t.strictSame(JSON.parse(message!.data), { channel: '7', value: 42, type: 'temp', unit: 'c', timestamp: at(3) })
  })

  await t.test('a correction names the reading it corrects: `r.i`, or `r` for a reading recorded alone', async (t) => {
    const previous = { channel: '2', type: 'temp', unit: 'c', value: 2 }
    const correction = (corrects: SensorReadingCorrected['data']['corrects'], value: number): SensorReadingCorrected['data'] => ({
      ...thing,
      corrects,
      at: at(0),
      previous,
      ...previous,
      value,
      codec: null,
      recordedThrough: lastKey,
    })
    const oldRevision = head.revision + 1
    await eventStore.appendToStream(
      stream,
      [
        {
          id: crypto.randomUUID(),
          type: 'SensorReadingCorrected',
          data: correction({ eventId: batch.id, revision: r, position: batch.position, key: batch.data.readings[1]!.key, index: 1 }, 20),
          metadata,
        },
        {
          id: crypto.randomUUID(),
          type: 'SensorReadingCorrected',
          data: correction({ eventId: 'old', revision: oldRevision, position: 0, key: lastKey }, 43),
          metadata,
        },
      ],
      { expectedRevision: oldRevision },
    )
    const corrections = await live.next(2)
    t.strictSame(idsOf(corrections), [String(oldRevision + 1), String(oldRevision + 2)], 'a correction\'s own id is its revision')
    t.strictSame(corrections.map((e) => e.event), ['correction', 'correction'])
    t.match(JSON.parse(corrections[0]!.data), { channel: '2', value: 20, corrects: `${r}.1` })
    t.match(JSON.parse(corrections[1]!.data), { value: 43, corrects: String(oldRevision) })
    t.equal(live.unread, 0)

    const resumed = await EventStream.open(server, thing.thingId, account.token, { 'Last-Event-ID': `${r}.1` })
    t.teardown(() => resumed.close())
    t.strictSame(
      idsOf(await resumed.next(7)),
      [`${r}.2`, `${r2}.0`, `${newest.revision}.0`, `${newest.revision}.1`, String(oldRevision), String(oldRevision + 1), String(oldRevision + 2)],
      'every message after r.1 once, in order, whatever its shape',
    )
    t.equal(resumed.unread, 0)
  })

  await t.test('an id of neither form is refused, with the details of any bad query', async (t) => {
    for (const id of ['abc', '12.', '.1', '1.2.3', '-1', '1e3', '12.x', '1234567890123456']) {
      const bad = await server.api<{ details: { field: string }[] }>('GET', `/v1.1/things/${thing.thingId}/stream`, { token: account.token, headers: { 'Last-Event-ID': id } })
      t.equal(bad.status, 400, `Last-Event-ID ${id}`)
      t.equal(bad.body.details[0]?.field, 'Last-Event-ID')
      const badQuery = await server.api<{ details: { field: string }[] }>('GET', `/v1.1/things/${thing.thingId}/stream?last_event_id=${encodeURIComponent(id)}`, { token: account.token })
      t.equal(badQuery.status, 400, `?last_event_id=${id}`)
      t.match(badQuery.body.details[0]?.field, /last_event_id/)
    }
  })
})
