/**
 * One owner per DATA_DIR, decided by a file lock the kernel drops when the owner dies: a
 * restart right after a SIGKILL, a zombie owner (killed, not yet reaped) and a pid file
 * naming some other live process never block a start; a live owner still does.
 */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { tempDataDir } from '../helpers/server.ts'
import { processState, runCli, startServerProcess, startServerUnderNonReapingParent } from '../helpers/process.ts'

async function untilState(pid: number, wanted: string, boundMs = 30_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < boundMs; await sleep(20)) {
    if (processState(pid) === wanted) return
  }
  throw new Error(`process ${pid} never reached state ${wanted} (is ${processState(pid)})`)
}

t.test('a restart right after a SIGKILL is not refused', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const first = await startServerProcess(env)
  t.teardown(() => first.child.kill('SIGKILL'))
  first.child.kill('SIGKILL')
  // no waiting for the exit: the second start races the first one's death
  const second = await startServerProcess(env)
  t.teardown(() => second.child.kill('SIGKILL'))
  t.equal((await first.exited).signal, 'SIGKILL')
  t.equal((await fetch(`${second.url}/healthz`)).status, 200, 'the second server runs')
  t.equal(readFileSync(join(env.DATA_DIR, 'capsicum.pid'), 'utf8'), String(second.child.pid), 'and the pid file names it')
})

t.test('a zombie owner (killed, never reaped) does not block a start', { skip: process.platform === 'linux' ? false : 'needs /proc' }, async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const first = await startServerUnderNonReapingParent(env)
  t.teardown(() => first.child.kill('SIGKILL'))
  process.kill(first.serverPid, 'SIGKILL')
  await untilState(first.serverPid, 'Z')
  t.pass(`process ${first.serverPid} is a zombie`)
  t.equal(readFileSync(join(env.DATA_DIR, 'capsicum.pid'), 'utf8'), String(first.serverPid), 'its pid file is still there')

  const second = await startServerProcess(env)
  t.teardown(() => second.child.kill('SIGKILL'))
  t.equal((await fetch(`${second.url}/healthz`)).status, 200, 'the second server runs')
  t.equal(processState(first.serverPid), 'Z', 'while the first is still a zombie')
})

t.test('a pid file naming another live process (a reused pid) does not block a start', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const stranger = spawn('sleep', ['600'], { stdio: 'ignore' })
  t.teardown(() => stranger.kill('SIGKILL'))
  writeFileSync(join(env.DATA_DIR, 'capsicum.pid'), String(stranger.pid))
  const server = await startServerProcess(env)
  t.teardown(() => server.child.kill('SIGKILL'))
  t.equal((await fetch(`${server.url}/healthz`)).status, 200)
  t.equal(readFileSync(join(env.DATA_DIR, 'capsicum.pid'), 'utf8'), String(server.child.pid))
})

t.test('a live owner still refuses a second start, naming its pid', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const owner = await startServerProcess(env)
  t.teardown(() => owner.child.kill('SIGKILL'))
  const refused = await runCli(['start'], { ...env, PORT: '0', HOST: '127.0.0.1' })
  t.equal(refused.code, 1)
  t.match(refused.stderr, `DATA_DIR ${env.DATA_DIR} is in use by process ${owner.child.pid}; stop it first`)
  t.equal((await fetch(`${owner.url}/healthz`)).status, 200, 'the owner runs on')

  owner.child.kill('SIGTERM')
  t.strictSame(await owner.exited, { code: 0, signal: null })
  const next = await startServerProcess(env)
  t.teardown(() => next.child.kill('SIGKILL'))
  t.equal((await fetch(`${next.url}/healthz`)).status, 200, 'after a clean stop the next start owns it')
})
