/**
 * `/readyz` reports every follower of the log, and a reactor that stopped or failed turns it
 * red (503), naming the reactor. The failure is a real one: the SQLite file refuses the
 * reactor's checkpoint (a trigger put in by a second connection), as a full disk would.
 */
import Database from 'better-sqlite3'
import { join } from 'node:path'
import t from 'tap'
import { createUser } from '../helpers/auth.ts'
import { eventually } from '../helpers/deliveries.ts'
import { startTestServer } from '../helpers/server.ts'

interface Readiness {
  readonly status: string
  readonly checks: Record<string, string>
  readonly followers: Record<string, { state: string; position: number | null; lag: number | null; lastError: string | null }>
}

const readiness = async (url: string): Promise<{ status: number; body: Readiness }> => {
  const response = await fetch(`${url}/readyz`)
  return { status: response.status, body: (await response.json()) as Readiness }
}

t.test('readiness and the followers of the log', async (t) => {
  const server = await startTestServer(t)
  const user = await createUser(server)
  const reactor = 'reactor:passwordResetMail'
  const follower = server.capsicum.followers.list().find((f) => f.name === reactor)!

  await t.test('every follower is reported with its state, position and lag', async (t) => {
    const { status, body } = await readiness(server.url)
    t.equal(status, 200)
    for (const name of ['projections', 'readingHistory', 'rules', 'mqtt-revocations', reactor, 'reactor:deviceCommands']) {
      t.match(body.followers[name], { state: 'running', lag: Number, lastError: null }, `${name} runs`)
    }
    t.match(body.checks, { projections: 'ok', reactors: 'ok', rules: 'ok' })
  })

  await t.test('a stopped reactor turns readiness red, naming it; started again, it is ready', async (t) => {
    await follower.stop()
    const stopped = await readiness(server.url)
    t.equal(stopped.status, 503)
    t.match(stopped.body.checks.reactors, `${reactor} is stopped`)
    t.equal(stopped.body.followers[reactor]?.state, 'stopped')
    await follower.start()
    t.equal((await readiness(server.url)).status, 200)
  })

  await t.test('a failed reactor turns readiness red, naming it and why', async (t) => {
    const db = new Database(join(server.dataDir, 'capsicum.db'))
    t.teardown(() => db.close())
    for (const when of ['INSERT', 'UPDATE']) {
      db.exec(`CREATE TRIGGER refuse_reset_mail_checkpoint_${when} BEFORE ${when} ON checkpoints
               WHEN NEW.name = '${reactor}' BEGIN SELECT RAISE(ABORT, 'checkpoint refused'); END`)
    }
    const forgot = await fetch(`${server.url}/password/forgot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: user.email }),
    })
    t.equal(forgot.status, 200)
    await eventually(async () => follower.status().state === 'failed', 'the reactor to fail')
    const failed = await readiness(server.url)
    t.equal(failed.status, 503)
    t.match(failed.body.checks.reactors, new RegExp(`${reactor} is failed \\(.*checkpoint refused`))
    t.match(failed.body.followers[reactor], { state: 'failed', lag: null, lastError: /checkpoint refused/ })
    t.equal(failed.body.checks.projections, 'ok', 'the other followers are not affected')
  })
})
