/**
 * The operator's bootstrap: `capsicum user create` and `capsicum app create` print JSON,
 * and a server started afterwards knows both. Without SMTP_URL, a reset link goes to the
 * log, which says so.
 */
import jwt from 'jsonwebtoken'
import t from 'tap'
import { tempDataDir } from '../helpers/server.ts'
import { runCli, startServerProcess } from '../helpers/process.ts'

t.test('capsicum user create and app create', async (t) => {
  const env = { DATA_DIR: tempDataDir(t) }
  const user = await runCli(['user', 'create', '--email', 'Root@Example.com', '--password', 'first admin pw', '--first-name', 'Root', '--last-name', 'Admin', '--admin'], env)
  t.equal(user.code, 0, user.stderr)
  const created = JSON.parse(user.stdout) as Record<string, unknown>
  t.match(created, { id: String, email: 'root@example.com', first_name: 'Root', last_name: 'Admin', account_id: String, admin: true })
  t.notMatch(user.stdout, /first admin pw|scrypt/, 'no password, no hash')

  // Usage errors touch no data: they run beside the one that does.
  const [again, short, unknownAction] = await Promise.all([
    runCli(['user', 'create', '--email', 'root@example.com', '--password', 'another pw!', '--first-name', 'R', '--last-name', 'A'], env),
    runCli(['user', 'create', '--email', 'x@example.com', '--password', 'short'], env),
    runCli(['app', 'delete'], env),
  ])
  t.equal(again.code, 1, 'the e-mail is taken')
  t.match(again.stderr, /already exists/)
  t.equal(short.code, 64, 'bad usage')
  t.equal(unknownAction.code, 64)
  t.equal((await runCli(['app', 'create', '--owner', 'nobody@example.com', '--name', 'X'], env)).code, 1, 'an unknown owner')

  const app = await runCli(['app', 'create', '--owner', 'root@example.com', '--name', 'Bootstrap', '--management'], env)
  t.equal(app.code, 0, app.stderr)
  const application = JSON.parse(app.stdout) as Record<string, string>
  t.match(application, { id: String, client_id: application.id, client_secret: String, name: 'Bootstrap', account_id: created.account_id, management: true })

  const server = await startServerProcess(env)
  t.teardown(() => server.child.kill('SIGKILL'))
  const token = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', email: 'root@example.com', password: 'first admin pw', client_id: application.client_id! }).toString(),
  })
  t.equal(token.status, 200)
  const tokens = (await token.json()) as { access_token: string }
  t.match(jwt.decode(tokens.access_token), { roles: ['admin'], account_id: created.account_id })
  const me = await fetch(`${server.url}/users/${String(created.id)}`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.equal(me.status, 200, 'the read model caught up with the CLI-written user at start')

  await t.test('without SMTP_URL the reset link is written to the log, which says so', async (t) => {
    const before = server.logLines.length
    const forgot = await fetch(`${server.url}/password/forgot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'root@example.com' }) })
    t.equal(forgot.status, 200)
    // Each chunk of output is split into lines (server.logLines) before this listener runs.
    const find = (): string | undefined => server.logLines.slice(before).find((l) => l.includes('SMTP_URL is not set'))
    const line = await new Promise<string>((resolve) => {
      const check = (): void => {
        const found = find()
        if (!found) return
        server.child.stdout!.off('data', check)
        resolve(found)
      }
      server.child.stdout!.on('data', check)
      check()
    })
    t.ok(line, 'a log line says the mail was not sent')
    const entry = JSON.parse(line) as { mail: { to: string; text: string } }
    t.equal(entry.mail.to, 'root@example.com')
    const link = /(http:\/\/\S+\/reset-password\?token=\S+)/.exec(entry.mail.text)![1]!
    const reset = await fetch(`${server.url}/password/reset`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URL(link).searchParams.get('token'), password: 'reset from the log' }),
    })
    t.equal(reset.status, 200)
  })
})
