/**
 * For the delivery tests: fire a rule or job by appending its RuleTriggered / JobFired
 * straight to the event store (as the rules processor and the scheduler do), the real
 * servers on the other side (SMTP, HTTP), and a bounded wait for the read model.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import type { Test } from 'tap'
import type { Effects, JobFired, RuleTriggered, TriggeringReading } from '../../domain/automation/effects.ts'
import type { EffectKind } from '../../domain/delivery/delivery.ts'
import { deliveryOfAccount, type DeliveryDocument } from '../../projections/deliveries.ts'
import { deliveryIdOf } from '../../streams/reactors/deliveries.ts'
import type { TestServer } from './server.ts'

export const noEffects: Effects = { actions: [], notifications: [], httpPush: [] }

const metadataFor = (accountId: string, at: string) => ({
  actor: { type: 'system', id: 'test' } as const,
  account_id: accountId,
  client_id: null,
  correlation_id: randomUUID(),
  causation_id: randomUUID(),
  time: at,
})

/** Appends a RuleTriggered to `rule-<ruleId>`; answers its event id. */
export async function fireRule(
  server: TestServer,
  fire: { accountId: string; ruleId?: string; title: string; reading: Omit<TriggeringReading, 'key'>; effects: Partial<Effects>; at: string },
): Promise<string> {
  const ruleId = fire.ruleId ?? randomUUID()
  const data: RuleTriggered['data'] = {
    ruleId,
    accountId: fire.accountId,
    title: fire.title,
    reading: { key: `${fire.reading.thingId}:${fire.reading.channel}`, ...fire.reading },
    effects: { ...noEffects, ...fire.effects },
    triggeredAt: fire.at,
  }
  const id = randomUUID()
  await server.capsicum.eventStore.appendToStream(`rule-${ruleId}`, [{ id, type: 'RuleTriggered', data, metadata: metadataFor(fire.accountId, fire.at) }], {
    expectedRevision: 'any',
  })
  return id
}

/** Appends a JobFired to `job-<jobId>`; answers its event id. */
export async function fireJob(server: TestServer, fire: { accountId: string; title: string; effects: Partial<Effects>; at: string }): Promise<string> {
  const jobId = randomUUID()
  const data: JobFired['data'] = {
    jobId,
    accountId: fire.accountId,
    title: fire.title,
    occurrence: fire.at,
    firedAt: fire.at,
    reason: 'on_time',
    effects: { ...noEffects, ...fire.effects },
  }
  const id = randomUUID()
  await server.capsicum.eventStore.appendToStream(`job-${jobId}`, [{ id, type: 'JobFired', data, metadata: metadataFor(fire.accountId, fire.at) }], {
    expectedRevision: 'no_stream',
  })
  return id
}

/** Polls `check` until it answers something, for at most `timeoutMs` (a guard, not a timing). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The delivery of an event's effect once the read model shows it in one of `statuses`. */
export function deliveryIn(server: TestServer, accountId: string, eventId: string, kind: EffectKind, index: number, statuses: readonly string[]): Promise<DeliveryDocument> {
  const id = deliveryIdOf(eventId, kind, index)
  return eventually(async () => {
    const document = await deliveryOfAccount(server.capsicum.readStore, accountId, id)
    return document && statuses.includes(document.status) ? document : undefined
  }, `delivery ${kind}[${index}] of ${eventId} to be ${statuses.join(' or ')}`)
}

/** The delivery once the read model shows at least `attempts` attempts. */
export function deliveryAfterAttempts(server: TestServer, accountId: string, eventId: string, kind: EffectKind, index: number, attempts: number): Promise<DeliveryDocument> {
  const id = deliveryIdOf(eventId, kind, index)
  return eventually(async () => {
    const document = await deliveryOfAccount(server.capsicum.readStore, accountId, id)
    return document && document.attempts.length >= attempts ? document : undefined
  }, `attempt ${attempts} of delivery ${kind}[${index}] of ${eventId}`)
}

export interface ReceivedMail {
  readonly to: string[]
  readonly raw: string
}

/** A real SMTP server on port 0; `next()` resolves with the next message it receives. */
export async function startSmtp(t: Test) {
  const received: ReceivedMail[] = []
  const waiting: ((mail: ReceivedMail) => void)[] = []
  let count = 0
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let raw = ''
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()))
      stream.on('end', () => {
        count++
        const mail = { to: session.envelope.rcptTo.map((r) => r.address), raw }
        const waiter = waiting.shift()
        if (waiter) waiter(mail)
        else received.push(mail)
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise<void>((resolve) => smtp.close(() => resolve())))
  const address = smtp.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    next: (): Promise<ReceivedMail> => {
      const mail = received.shift()
      return mail ? Promise.resolve(mail) : new Promise((resolve) => waiting.push(resolve))
    },
    /** every message received so far */
    count: () => count,
  }
}

/** A raw message's headers unfolded and its quoted-printable parts decoded. */
export function readableMail(raw: string): { headers: string; text: string; html: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/)
  const body = rest.join('\n\n').replace(/=\r?\n/g, '')
  const decoded = Buffer.from(body.replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
  const htmlAt = decoded.indexOf('Content-Type: text/html')
  // RFC 2047 encoded words (nodemailer uses them for a subject with quotes or a long line).
  const headers = head
    .replace(/\r?\n[ \t]+/g, ' ')
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?(.*?)\?=/gi, (_, text: string) =>
      Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/g, (_h, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    )
  return { headers, text: decoded.slice(0, htmlAt), html: decoded.slice(htmlAt) }
}

export interface ReceivedRequest {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  readonly body: string
}

/** A real HTTP server on 127.0.0.1; `answer` picks each status, headers and body, or null: no answer at all. */
export async function startReceiver(
  t: Test,
  answer: (req: ReceivedRequest, n: number) => { status: number; body?: string; headers?: Record<string, string> } | null,
) {
  const received: ReceivedRequest[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body }
      received.push(r)
      const a = answer(r, received.length)
      if (a === null) return // never answers
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body ?? '{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, port, received }
}

/** An account with its MQTT client and one thing; answers the thing's id. */
export async function thingOf(server: TestServer, token: string, name: string): Promise<string> {
  await server.api('POST', '/v1.1/clients', { token })
  const res = await server.api<{ id: string }>('POST', '/v1.1/things', { token, body: { name } })
  if (res.status !== 201) throw new Error(`could not create a thing: ${res.text}`)
  return res.body.id
}
