/**
 * What of the scale-out wiring runs without the engines: the vocabulary mappings of the
 * KurrentDB and MongoDB adapters, the engine choice from the configuration, node roles, and
 * read-your-writes through the shared checkpoints. The adapters themselves are proven by
 * the contract suites (test/contracts/{kurrentdb,mongo,kafka}.test.ts) when their URLs are set.
 */
import t from 'tap'
import { fromKurrentPosition, toKurrentPosition, toStreamState } from '../adapters/eventstore/kurrentdb.ts'
import { ConfigError, loadConfig } from '../adapters/config.ts'
import { toMongoFilter } from '../adapters/readstore/mongo.ts'
import { engineChoice, needsLease, parseRoles, waitForCheckpoints } from '../adapters/scale-out.ts'
import type { Checkpoint, CheckpointStore } from '../domain/ports/read-store.ts'

t.test('expected revisions map to KurrentDB stream states', async (t) => {
  t.equal(toStreamState('no_stream'), 'no_stream')
  t.equal(toStreamState('stream_exists'), 'stream_exists')
  t.equal(toStreamState('any'), 'any')
  t.equal(toStreamState(0), 0n)
  t.equal(toStreamState(41), 41n)
})

t.test('positions map to commit positions and back, exactly or not at all', async (t) => {
  t.strictSame(toKurrentPosition(1234), { commit: 1234n, prepare: 1234n })
  t.equal(fromKurrentPosition({ commit: 987654321n, prepare: 987654321n }), 987654321)
  t.equal(fromKurrentPosition(toKurrentPosition(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
  t.throws(() => fromKurrentPosition({ commit: 2n ** 53n + 1n, prepare: 0n }), RangeError, 'beyond 2^53 is refused')
  t.throws(() => toKurrentPosition(-1), RangeError)
  t.throws(() => toKurrentPosition(1.5), RangeError)
})

t.test('the port’s filters in MongoDB’s terms', async (t) => {
  t.strictSame(toMongoFilter({}), { deleted: false }, 'tombstones are never found')
  t.strictSame(toMongoFilter({ account_id: 'a1', active: true }), { deleted: false, 'doc.account_id': 'a1', 'doc.active': true })
  t.strictSame(toMongoFilter({ owner_id: null }), { deleted: false, 'doc.owner_id': null }, 'null: null or missing')
  t.strictSame(toMongoFilter({ sensors: [0, 12] }), { deleted: false, 'doc.sensors': { $in: [0, 12] } }, 'an array: any of')
  t.strictSame(toMongoFilter({ account_id: [] }), { deleted: false, 'doc.account_id': { $in: [] } }, 'an empty array: nothing')
  t.throws(() => toMongoFilter({ 'doc.$where': 'x' }), /Invalid field name/, 'field names are identifiers, never operators')
})

t.test('each port picks its engine from its own variable', async (t) => {
  const embedded = loadConfig({})
  t.strictSame(engineChoice(embedded), { eventStore: 'sqlite', readStore: 'sqlite', telemetry: 'sqlite' }, 'nothing set: all embedded')
  t.notOk(needsLease(engineChoice(embedded)), 'one process needs no lease')

  const all = loadConfig({
    EVENTSTORE_URL: 'kurrentdb://kurrentdb:2113?tls=false',
    MONGODB_URL: 'mongodb://mongodb:27017/?replicaSet=rs0',
    KAFKA_BROKERS: 'kafka:9092, kafka2:9092',
    REDIS_URL: 'redis://redis:6379',
  })
  t.strictSame(engineChoice(all), { eventStore: 'kurrentdb', readStore: 'mongodb', telemetry: 'kafka' })
  t.strictSame(all.scaleOut.kafkaBrokers, ['kafka:9092', 'kafka2:9092'])
  t.match(all.scaleOut, { mongodbDatabase: 'capsicum', kafkaTopic: 'capsicum-telemetry', leaseTtlMs: 10000 })
  t.ok(needsLease(engineChoice(all)))
  t.strictSame(engineChoice(loadConfig({ KAFKA_BROKERS: 'localhost:9094' })), { eventStore: 'sqlite', readStore: 'sqlite', telemetry: 'kafka' })
})

t.test('bad engine variables stop the start, without echoing credentials', async (t) => {
  const error = t.throws(() =>
    loadConfig({
      EVENTSTORE_URL: 'http://admin:secret@kurrentdb:2113',
      MONGODB_URL: 'postgres://user:secret@db',
      KAFKA_BROKERS: 'kafka',
      REDIS_URL: 'memcached://x',
      MONGODB_DATABASE: 'no spaces',
      KAFKA_TOPIC: 'a/b',
      LEASE_TTL_MS: '5',
    }),
  ) as ConfigError
  t.type(error, ConfigError)
  t.equal(error.problems.length, 7)
  t.notMatch(error.message, /secret/, 'a password in a URL is never echoed')
  t.match(error.message, /EVENTSTORE_URL="http:\/\/\.\.\." is not valid: expected a KurrentDB connection string/)
  t.match(error.message, /KAFKA_BROKERS="kafka" is not valid: expected host:port/)
})

t.test('node roles', async (t) => {
  t.strictSame(parseRoles(undefined), ['api', 'mqtt', 'projector', 'processor', 'scheduler'], 'all by default')
  t.strictSame(parseRoles('api, mqtt'), ['api', 'mqtt'])
  t.strictSame(parseRoles('projector,projector'), ['projector'])
  t.throws(() => parseRoles('api,worker'), /Unknown role worker; roles are api, mqtt, projector, processor, scheduler/)
})

t.test('read-your-writes without a local projector waits on the shared checkpoints', async (t) => {
  const checkpoints = new Map<string, Checkpoint>([
    ['things', { position: 10, version: 1 }],
    ['users', { position: 10, version: 1 }],
  ])
  let reads = 0
  const store: CheckpointStore = {
    loadCheckpoint: async (name) => {
      reads += 1
      // The projector (elsewhere) moves both checkpoints to 20 after a few looks.
      if (reads === 5) for (const [key, value] of checkpoints) checkpoints.set(key, { ...value, position: 20 })
      return checkpoints.get(name)
    },
  }
  t.equal(await waitForCheckpoints(store, ['things', 'users'], 10, 1000, 1), true, 'already there')
  t.equal(await waitForCheckpoints(store, ['things', 'users'], 20, 10_000, 1), true, 'reached once the projector moved on')
  t.equal(await waitForCheckpoints(store, ['things', 'users'], 21, 0), false, 'not reached within the timeout: answers anyway')
  t.equal(await waitForCheckpoints(store, ['things', 'missing'], 1, 0), false, 'a projection that never checkpointed has not reached it')
})
