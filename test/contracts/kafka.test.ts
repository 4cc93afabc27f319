/**
 * Kafka against the TelemetryStream contract, when KAFKA_BROKERS is set (e.g.
 * `localhost:9094`, what `docker compose up -d` starts). Without it the suite is reported
 * as SKIPPED with the reason.
 *
 * Each case gets a fresh topic (deleted in teardown) and consumer group ids of its own (the
 * topic name as a prefix); reopening connects again to the same topic.
 *
 * Beyond the shared contract, one case only a distributed engine meets: a consumer process
 * that dies in the middle of a batch (SIGKILL, no goodbye to the group) commits nothing, and
 * its records are delivered again to the group's next member once the broker has given up
 * on the dead one. The embedded engine has one process, whose crash is covered by
 * test/process/crash.test.ts; that case is reported as skipped for it, with the reason.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import t from 'tap'
import type { Test } from 'tap'
import { KafkaTelemetryStream } from '../../adapters/stream/kafka.ts'
import type { TelemetryRecord } from '../../domain/ports/telemetry-stream.ts'
import { telemetryStreamContract, type OpenedTelemetryStream } from './telemetry-stream.contract.ts'

const brokers = process.env.KAFKA_BROKERS?.trim()
const partitions = Number(process.env.TELEMETRY_PARTITIONS ?? 4) || 4
const notSet = 'KAFKA_BROKERS is not set: the Kafka adapter was not exercised (start one with `docker compose up -d kafka`, then `npm run test:scale`)'
const crashCase = 'Kafka: records a consumer was processing when its process died are delivered again'

async function deleteTopic(brokerList: string[], topic: string): Promise<void> {
  const admin = new Kafka({ clientId: 'capsicum-contract', brokers: brokerList, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.deleteTopics({ topics: [topic] })
  } finally {
    await admin.disconnect()
  }
}

function openOnFreshTopic(brokerList: string[]) {
  return async (t: Test): Promise<{ opened: OpenedTelemetryStream; topic: string }> => {
    const topic = `capsicum-contract-${randomUUID()}`
    const closers: (() => Promise<void>)[] = []
    t.teardown(async () => {
      try {
        for (const close of closers.reverse()) await close()
      } finally {
        await deleteTopic(brokerList, topic).catch(() => {})
      }
    })
    const openAt = async (): Promise<OpenedTelemetryStream> => {
      const stream = await KafkaTelemetryStream.open({ brokers: brokerList, topic, partitions, groupIdPrefix: `${topic}-` })
      let closing: Promise<void> | undefined
      const close = (): Promise<void> => (closing ??= stream.close())
      closers.push(close)
      return { stream, close, reopen: async () => (await close(), openAt()) }
    }
    return { opened: await openAt(), topic }
  }
}

t.test('SQLite: records a consumer was processing when its process died', {
  skip: 'not applicable here: one process owns the embedded stream; its crash is test/process/crash.test.ts',
}, async () => {})

if (!brokers) {
  t.test('Kafka: TelemetryStream contract', { skip: notSet }, async () => {})
  t.test(crashCase, { skip: notSet }, async () => {})
} else {
  const brokerList = brokers.split(',').map((b) => b.trim())
  const open = openOnFreshTopic(brokerList)
  telemetryStreamContract(t, 'Kafka', async (t) => (await open(t)).opened)

  t.test(crashCase, async (t) => {
    const { opened, topic } = await open(t)
    const { stream } = opened
    const key = `thing-${randomUUID()}`
    const partition = stream.partitionFor(key)
    const records = Array.from({ length: 3 }, (_, i) => ({ key, value: JSON.stringify({ i }), timestamp: Date.UTC(2026, 0, 1) + i }))
    await stream.produce(records)

    const fixture = fileURLToPath(new URL('./fixtures/kafka-crashing-consumer.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, KAFKA_BROKERS: brokers, TOPIC: topic, GROUP_PREFIX: `${topic}-`, GROUP: 'rules' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    t.teardown(() => void child.kill('SIGKILL'))
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('received')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`the crashing consumer exited (${code}) before receiving`)))
    })
    child.kill('SIGKILL')
    t.equal((await stream.committedOffsets('rules')).get(partition) ?? 0, 0, 'the dead consumer committed nothing')

    const received: TelemetryRecord[] = []
    let done: (() => void) | undefined
    const all = new Promise<void>((resolve) => (done = resolve))
    const consumer = stream.consume({ groupId: 'rules' }, async (batch) => {
      received.push(...batch.records)
      if (received.length >= records.length) done?.()
    })
    t.teardown(() => consumer.stop())
    // The broker reassigns the dead member's partitions after its session timeout (6 s).
    let timer: NodeJS.Timeout | undefined
    await Promise.race([all, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('gave up after 90 s')), 90_000)))])
    clearTimeout(timer)
    await consumer.stop()
    t.strictSame(received.map((r) => r.offset), [0, 1, 2], 'the same records again, from the first uncommitted one')
    t.equal((await stream.committedOffsets('rules')).get(partition), 3, 'committed once handled')
  })
}
