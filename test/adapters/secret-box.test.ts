import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../adapters/config.ts'
import { AesGcmSecretBox } from '../../adapters/secret-box.ts'
import { tempDataDir } from '../helpers/server.ts'

t.test('the secret box seals with AES-256-GCM and opens only what it sealed', async (t) => {
  const box = AesGcmSecretBox.withKey(Buffer.alloc(32, 7))
  const secret = box.newSecret()
  t.match(secret, /^[0-9a-f]{40}$/)
  const sealed = box.seal(secret)
  t.notOk(sealed.includes(secret), 'the blob does not contain the secret')
  t.not(box.seal(secret), sealed, 'a fresh IV each time')
  t.equal(box.open(sealed), secret)

  const [v, iv, tag, data] = sealed.split('.')
  const flipped = Buffer.from(data!, 'base64url')
  flipped[0] = flipped[0]! ^ 1
  t.throws(() => box.open([v, iv, tag, flipped.toString('base64url')].join('.')), 'a tampered blob is refused')
  t.throws(() => AesGcmSecretBox.withKey(Buffer.alloc(32, 8)).open(sealed), 'another key cannot open it')
  t.throws(() => box.open('not sealed'))
})

t.test('the key comes from SECRET_KEY, or from a file created once in DATA_DIR', async (t) => {
  const dataDir = tempDataDir(t)
  const first = AesGcmSecretBox.load(loadConfig({ DATA_DIR: dataDir }))
  const file = join(dataDir, 'secret.key')
  t.ok(existsSync(file), 'created on first start')
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the owner only')
  const sealed = first.seal('hello')
  t.equal(AesGcmSecretBox.load(loadConfig({ DATA_DIR: dataDir })).open(sealed), 'hello', 'the same key on the next start')

  const key = readFileSync(file, 'utf8').trim()
  const fromEnv = AesGcmSecretBox.load(loadConfig({ DATA_DIR: tempDataDir(t), SECRET_KEY: key }))
  t.equal(fromEnv.open(sealed), 'hello', 'SECRET_KEY (hex) wins over the file')
  const base64 = AesGcmSecretBox.load(loadConfig({ DATA_DIR: tempDataDir(t), SECRET_KEY: Buffer.from(key, 'hex').toString('base64') }))
  t.equal(base64.open(sealed), 'hello', 'base64 works too')

  t.throws(() => loadConfig({ SECRET_KEY: 'too-short' }), ConfigError, 'a bad SECRET_KEY stops the start')
  try {
    loadConfig({ SECRET_KEY: 'too-short' })
  } catch (error) {
    t.match((error as Error).message, /SECRET_KEY/)
    t.notMatch((error as Error).message, /too-short/, 'the value is not echoed')
  }
})
