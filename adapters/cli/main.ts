/**
 * The operator's CLI: start the server, mint a token, rebuild the read models, replay a
 * stream as a timeline. Output for people goes to stderr when stdout carries data.
 */
import { parseArgs } from 'node:util'
import { openDatabase } from '../sqlite/database.ts'
import { ConfigError, loadConfig, type Config } from '../config.ts'
import { openEmbeddedStores, startCapsicum } from '../capsicum.ts'
import { nodeRoles, parseRoles } from '../scale-out.ts'
import { SqliteEventStore } from '../eventstore/sqlite.ts'
import { TokenService } from '../tokens.ts'
import { ProjectionRunner } from '../../projections/runner.ts'
import { allProjections } from '../../projections/index.ts'
import { ReadingHistoryProjector } from '../../projections/reading-history.ts'
import { roles, type Role } from '../../commands/http/auth.ts'
import { createLogger } from '../logger.ts'
import { formatTimeline } from './timeline.ts'
import { appCreate, BootstrapUsageError, userCreate } from './bootstrap.ts'
import { audit, AuditUsageError } from './audit.ts'
import { redecode, RedecodeUsageError } from './redecode.ts'
import { filterHistory, thingEvents, toHistoryEntry } from '../../commands/thing/history.ts'
import type { RecordedEvent } from '../../domain/ports/event-store.ts'

const usage = `Usage: capsicum <command> [options]

Commands:
  start [--role ROLE,...]       run the server (HTTP API, docs); roles: api, mqtt,
                                projector, processor, scheduler (default: all of them)
  token --account ID [--role admin|management]... [--user ID] [--application ID]
        [--client ID] [--expires SECONDS]
                                print a signed access token (for operators and scripts)
  rebuild                       drop every read model and rebuild it from the event log
                                (stop the server first)
  replay --stream NAME [--json] print a stream's events as a timeline (--json: one JSON
                                object per line)
  replay --thing ID [--from ISO] [--to ISO] [--json]
                                print a thing's history (its provisioning, pairing,
                                updates, commands) as a timeline, optionally a time window
  user create --email ADDRESS --password TEXT --first-name NAME --last-name NAME [--admin]
                                create a user (the first admin); prints it as JSON
  app create --owner EMAIL --name NAME [--description TEXT] [--management]
                                create an application in the owner's account; prints
                                it as JSON with its client_secret (shown this once)
                                (both: stop the server first)
  redecode --thing ID [--from ISO] [--to ISO] [--codec NAME]
                                decode a thing's kept payloads again (after a codec fix)
                                and record the corrections; prints what it did as JSON
                                (stop the server first; the API has POST
                                /v1.1/things/{id}/redecode)
  audit verify FILE [--jwks URL|FILE]
                                check an audit export (GET /v1.1/audit/export) offline:
                                its hash chain and its signed head (default key: this
                                server's); names the first line that fails (exit 1)
  help                          this text

Configuration comes from the environment; see README.md.`

class UsageError extends Error {}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        return await start(rest)
      case 'token':
        return token(rest)
      case 'rebuild':
        return await rebuild()
      case 'replay':
        return await replay(rest)
      case 'audit':
        return await audit(rest)
      case 'redecode':
        return await redecode(rest)
      case 'user':
      case 'app': {
        const [action, ...options] = rest
        if (action !== 'create') throw new UsageError(`${command} takes: create`)
        return await (command === 'user' ? userCreate(options) : appCreate(options))
      }
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
    if (error instanceof UsageError || error instanceof BootstrapUsageError || error instanceof AuditUsageError || error instanceof RedecodeUsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n\n${usage}\n`)
      return 64 // EX_USAGE
    }
    process.stderr.write(`capsicum ${command}: ${(error as Error).message}\n`)
    return 1
  }
}

async function start(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...args], options: { role: { type: 'string', multiple: true } }, strict: true })
  let nodeRolesAsked
  try {
    nodeRolesAsked = parseRoles(values.role?.join(','))
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (default: ${nodeRoles.join(',')})`)
  }
  const config = loadConfig()
  const capsicum = await startCapsicum(config, { roles: nodeRolesAsked })
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
    process.stderr.write('\rrebuilding the reading history...                                  ')
    await new ReadingHistoryProjector({ eventStore: stores.eventStore, store: stores.readStore.readingHistory(), logger: createLogger('warn') }).rebuild()
    const elapsed = seconds()
    process.stderr.write(
      `\rRebuilt ${allProjections.length + 1} read model(s) from ${applied} events in ${elapsed.toFixed(2)} s` +
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
    options: {
      stream: { type: 'string' },
      thing: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (!values.stream && !values.thing) throw new UsageError('replay needs --stream NAME (e.g. thingtype-<id>) or --thing ID')
  if (values.stream && values.thing) throw new UsageError('replay takes --stream or --thing, not both')
  for (const [flag, value] of [['--from', values.from], ['--to', values.to]] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new UsageError(`${flag} takes an ISO 8601 time, e.g. 2026-01-31T12:00:00Z`)
  }
  if (!values.thing && (values.from !== undefined || values.to !== undefined)) throw new UsageError('--from and --to go with --thing')
  const config = loadConfig()
  // Reading only: no lock, so an auditor can replay while the server runs.
  const db = openDatabase(config.dataDir)
  try {
    const store = new SqliteEventStore(db)
    const title = values.thing ? `thing ${values.thing}` : values.stream!
    const events = values.thing
      ? filterHistory(await thingEvents(store, values.thing), {
          ...(values.from === undefined ? {} : { from: values.from }),
          ...(values.to === undefined ? {} : { to: values.to }),
        }).entries
      : await store.readStream(values.stream!)
    if (events.length === 0) {
      process.stderr.write(`${values.thing ? `Thing ${values.thing}` : `Stream ${values.stream}`} has no events${values.from || values.to ? ' in that window' : ''}\n`)
      return 1
    }
    if (values.json) for (const event of events) process.stdout.write(`${JSON.stringify(values.thing ? toHistoryEntry(event) : event)}\n`)
    else process.stdout.write(formatTimeline(title, values.thing ? events.map(maskedEvent) : events))
    return 0
  } finally {
    db.close()
  }
}

/** The event with its data as the history shows it (secrets masked). */
function maskedEvent<E extends RecordedEvent>(event: E): E {
  return { ...event, data: toHistoryEntry(event).data }
}
