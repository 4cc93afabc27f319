/**
 * The operator's CLI: start the server, mint a token, rebuild the read models, replay a
 * stream as a timeline. Output for people goes to stderr when stdout carries data.
 */
import { parseArgs } from 'node:util'
import { openDatabase } from '../sqlite/database.ts'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { openEmbeddedStores, startCapsicum } from '../capsicum.ts'
import { SqliteEventStore } from '../eventstore/sqlite.ts'
import { TokenService } from '../tokens.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { allProjections } from '../../projections/index.ts'
import { roles, type Role } from '../../commands/http/auth.ts'
import { createLogger } from '../logger.ts'
import { formatTimeline } from './timeline.ts'

const usage = `Usage: capsicum <command> [options]

Commands:
  start                         run the server (HTTP API, docs) on the embedded engine
  token --account ID [--role admin|management]... [--user ID] [--application ID]
        [--client ID] [--expires SECONDS]
                                print a signed access token (for operators and scripts)
  rebuild                       drop every read model and rebuild it from the event log
                                (stop the server first)
  replay --stream NAME [--json] print a stream's events as a timeline (--json: one JSON
                                object per line)
  help                          this text

Configuration comes from the environment; see README.md.`

class UsageError extends Error {}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        return await start()
      case 'token':
        return token(rest)
      case 'rebuild':
        return await rebuild()
      case 'replay':
        return await replay(rest)
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${usage}\n`)
        return 0
      default:
        throw new UsageError(`Unknown command "${command}"`)
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      return 78 // EX_CONFIG
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n\n${usage}\n`)
      return 64 // EX_USAGE
    }
    process.stderr.write(`capsicum ${command}: ${(error as Error).message}\n`)
    return 1
  }
}

async function start(): Promise<number> {
  const config = loadConfig()
  const capsicum = await startCapsicum(config)
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      capsicum.logger.info({ signal }, 'signal received')
      process.off('SIGTERM', stop)
      process.off('SIGINT', stop)
      capsicum.close().then(resolve, (error: unknown) => {
        capsicum.logger.error({ err: error }, 'shutdown failed')
        resolve()
      })
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
  return 0
}

function token(args: readonly string[]): number {
  const { values } = parseArgs({
    args: [...args],
    options: {
      account: { type: 'string' },
      role: { type: 'string', multiple: true },
      user: { type: 'string' },
      application: { type: 'string' },
      client: { type: 'string' },
      expires: { type: 'string' },
    },
    strict: true,
  })
  if (!values.account) throw new UsageError('token needs --account ID')
  const requested = values.role ?? []
  const unknown = requested.filter((role) => !(roles as readonly string[]).includes(role))
  if (unknown.length > 0) throw new UsageError(`Unknown role ${unknown.join(', ')}; roles are ${roles.join(', ')}`)
  const expires = values.expires === undefined ? undefined : Number(values.expires)
  if (expires !== undefined && (!Number.isInteger(expires) || expires < 1)) throw new UsageError('--expires takes whole seconds')
  const config = loadConfig()
  const tokens = TokenService.load(config)
  const signed = tokens.sign(
    {
      sub: values.user ?? values.application ?? `operator:${values.account}`,
      account_id: values.account,
      roles: requested as Role[],
      ...(values.user ? { user_id: values.user } : {}),
      ...(values.application ? { application_id: values.application } : {}),
      ...(values.client ? { client_id: values.client } : {}),
    },
    expires === undefined ? {} : { expiresIn: expires },
  )
  process.stdout.write(`${signed}\n`)
  return 0
}

async function rebuild(): Promise<number> {
  const config: Config = loadConfig()
  const stores = openEmbeddedStores(config)
  try {
    const runner = new ProjectionRunner({
      eventStore: stores.eventStore,
      readStore: stores.readStore,
      projections: allProjections,
      logger: createLogger('warn'),
    })
    const total = (await stores.eventStore.headPosition()) ?? 0
    const started = process.hrtime.bigint()
    let lastReport = 0
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9
    const applied = await runner.rebuild((count, position) => {
      const now = Date.now()
      if (now - lastReport < 250) return
      lastReport = now
      const percent = total > 0 && position !== null ? Math.min(100, (position / total) * 100).toFixed(0) : '100'
      process.stderr.write(`\rrebuilding: ${count} events (${percent}%), ${Math.round(count / seconds())} events/s   `)
    })
    const elapsed = seconds()
    process.stderr.write(
      `\rRebuilt ${allProjections.length} read model(s) from ${applied} events in ${elapsed.toFixed(2)} s` +
        ` (${Math.round(applied / Math.max(elapsed, 1e-9))} events/s)\n`,
    )
    return 0
  } finally {
    await stores.close()
  }
}

async function replay(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { stream: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  })
  if (!values.stream) throw new UsageError('replay needs --stream NAME (e.g. thingtype-<id>)')
  const config = loadConfig()
  // Reading only: no lock, so an auditor can replay while the server runs.
  const db = openDatabase(config.dataDir)
  try {
    const events = await new SqliteEventStore(db).readStream(values.stream)
    if (events.length === 0) {
      process.stderr.write(`Stream ${values.stream} has no events\n`)
      return 1
    }
    if (values.json) for (const event of events) process.stdout.write(`${JSON.stringify(event)}\n`)
    else process.stdout.write(formatTimeline(values.stream, events))
    return 0
  } finally {
    db.close()
  }
}
