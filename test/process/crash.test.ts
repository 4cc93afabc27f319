/**
 * Nothing acknowledged is lost: a stream of concurrent writes, a SIGKILL in the middle of
 * it, a restart. Every write that got a 200 must be there, and the read models must equal
 * a rebuild from the log.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../adapters/config.ts'
import { TokenService } from '../../adapters/tokens.ts'
import { tempDataDir } from '../helpers/server.ts'
import { runCli, startServerProcess } from '../helpers/process.ts'

const readModel = (dataDir: string): unknown[] => {
  const db = new Database(join(dataDir, 'capsicum.db'), { readonly: true })
  try {
    return db.prepare('SELECT id, doc FROM rm_thing_types ORDER BY id').all()
  } finally {
    db.close()
  }
}

t.test('SIGKILL during a stream of writes loses no acknowledged write', async (t) => {
  const dataDir = tempDataDir(t)
  const env = { DATA_DIR: dataDir }
  const token = TokenService.load(loadConfig(env)).sign({ sub: 'crash', account_id: 'account-crash', roles: [] })
  const first = await startServerProcess(env)
  t.teardown(() => first.child.kill('SIGKILL'))

  const killAfter = 400
  const workers = 24
  const acknowledged = new Map<string, string>()
  let attempted = 0
  let killed = false
  const kill = (): void => {
    if (killed) return
    killed = true
    first.child.kill('SIGKILL')
  }

  const worker = async (w: number): Promise<void> => {
    for (let i = 0; !killed; i++) {
      const name = `crash ${w}-${i}`
      attempted++
      try {
        const res = await fetch(`${first.url}/v1.1/things/types`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name, description: 'written under fire' }),
        })
        if (res.status !== 200) throw new Error(`unexpected ${res.status}`)
        const body = (await res.json()) as { id: string }
        acknowledged.set(body.id, name)
        if (acknowledged.size >= killAfter) kill()
      } catch (error) {
        if (!killed) throw error
        return // the server died under this request: it was never acknowledged
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)))
  const exit = await first.exited
  t.equal(exit.signal, 'SIGKILL', 'the server was killed, not stopped')
  t.ok(acknowledged.size >= killAfter, `${acknowledged.size} writes acknowledged of ${attempted} attempted`)

  const second = await startServerProcess(env)
  t.teardown(() => second.child.kill('SIGKILL'))
  const list = await fetch(`${second.url}/v1.1/things/types`, { headers: { authorization: `Bearer ${token}` } })
  const types = (await list.json()) as { id: string; name: string }[]
  const found = new Map(types.map((type) => [type.id, type.name]))
  const missing = [...acknowledged].filter(([id, name]) => found.get(id) !== name)
  t.strictSame(missing, [], `all ${acknowledged.size} acknowledged writes are present after the restart`)
  t.comment(`crash test: ${attempted} writes attempted, ${acknowledged.size} acknowledged, ${acknowledged.size - missing.length} found`)
  for (const [id] of acknowledged) {
    const one = await fetch(`${second.url}/v1.1/things/types/${id}`, { headers: { authorization: `Bearer ${token}` } })
    if (one.status !== 200) t.fail(`GET ${id} answered ${one.status}`)
  }

  second.child.kill('SIGTERM')
  t.strictSame(await second.exited, { code: 0, signal: null }, 'SIGTERM stops the server cleanly')
  t.ok(second.logLines.some((line) => line.includes('"msg":"stopped"')), 'it says it stopped')

  const incremental = readModel(dataDir)
  const rebuild = await runCli(['rebuild'], env)
  t.equal(rebuild.code, 0, rebuild.stderr)
  t.strictSame(readModel(dataDir), incremental, 'the read model after the crash equals a rebuild from the log')
})
