/**
 * `capsicum redecode --thing ID [--from ISO] [--to ISO] [--codec NAME]`: decodes a thing's
 * kept payloads again and records the corrections (commands/thing/redecode.ts), on the
 * embedded engine with the server stopped (it takes DATA_DIR's lock); the read models take
 * the corrections in when the server starts. A running server does the same through
 * `POST /v1.1/things/{id}/redecode`.
 */
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { redecodeThing } from '../../commands/thing/redecode.ts'
import { provisionedDevicesProjection } from '../../projections/provisioned-devices.ts'
import { thingsProjection, type ThingDocument } from '../../projections/things.ts'
import { openEmbeddedStores } from '../capsicum.ts'
import { loadConfig } from '../config.ts'

export class RedecodeUsageError extends Error {}

export async function redecode(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { thing: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, codec: { type: 'string' } },
    strict: true,
  })
  if (!values.thing) throw new RedecodeUsageError('redecode needs --thing ID')
  for (const [flag, value] of [['--from', values.from], ['--to', values.to]] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new RedecodeUsageError(`${flag} takes an ISO 8601 time, e.g. 2026-01-31T12:00:00Z`)
  }
  if (values.codec !== undefined && values.codec.trim() === '') throw new RedecodeUsageError('--codec takes a codec name, e.g. lpp')
  const stores = openEmbeddedStores(loadConfig())
  try {
    for (const p of [thingsProjection, provisionedDevicesProjection]) await stores.readStore.ensureCollection({ name: p.collection, indexes: p.indexes })
    const thing = await stores.readStore.collection<ThingDocument>(thingsProjection.collection).get(values.thing)
    if (!thing) {
      process.stderr.write(`Thing ${values.thing} not found\n`)
      return 1
    }
    const correlation = `cli-redecode-${randomUUID()}`
    const result = await redecodeThing(
      {
        eventStore: stores.eventStore,
        readStore: stores.readStore,
        newId: randomUUID,
        now: () => new Date(),
        metadata: { actor: { type: 'system', id: 'operator' }, account_id: thing.account_id, client_id: null, correlation_id: correlation, causation_id: correlation },
      },
      {
        thingId: values.thing,
        ...(values.from === undefined ? {} : { from: values.from }),
        ...(values.to === undefined ? {} : { to: values.to }),
        ...(values.codec === undefined ? {} : { codec: values.codec }),
      },
    )
    process.stdout.write(`${JSON.stringify({ codec: result.codec, examined: result.examined, corrected: result.corrected, without_payload: result.withoutPayload, skipped: result.skipped })}\n`)
    process.stderr.write(`Decoded ${result.examined} record(s) again with ${result.codec ?? 'the text codecs'}: ${result.corrected} reading(s) corrected\n`)
    return 0
  } finally {
    await stores.close()
  }
}
