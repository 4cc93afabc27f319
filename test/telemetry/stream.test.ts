/** GET /v1.1/things/{id}/stream: Server-Sent Events of new readings, resumed with Last-Event-ID without a gap or a duplicate. */
import t from 'tap'
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
