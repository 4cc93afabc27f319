import { openDatabase } from '../adapters/sqlite/database.ts'
import { SqliteEventStore } from '../adapters/eventstore/sqlite.ts'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
const dir = mkdtempSync(join(tmpdir(), 's-'))
const db = openDatabase(dir)
const store = new SqliteEventStore(db)
const N = 200000
const meta = { actor: { type: 'user' as const, id: randomUUID() }, account_id: randomUUID(), client_id: randomUUID(), correlation_id: randomUUID(), causation_id: randomUUID(), time: new Date().toISOString() }
db.pragma('synchronous = OFF')
for (let i = 0; i < N; i += 1000) {
  const ps = []
  for (let j = 0; j < 1000; j++) ps.push(store.appendToStream('s-' + (i + j), [{ id: randomUUID(), type: 'ThingTypeRegistered', data: { typeId: randomUUID(), name: 'Greenhouse temperature sensor #1234', description: 'temperature sensor installed by the field team, revision 3; reports every 12 min', model: 'ESP32', version: '1.2.3', manufacturer: 'Espressif', transportProtocol: 'mqtt', protocolVersion: '1.1', category: 'sensor', subcategory: 'temperature', dataType: 'temp', accountId: randomUUID(), registeredAt: new Date().toISOString() }, metadata: meta }], { expectedRevision: 'any' }))
  await Promise.all(ps)
}
const t = () => process.hrtime.bigint()
function raw() {
  const s = db.prepare('SELECT position, id, stream, revision, type, data, metadata FROM events ORDER BY position')
  let n = 0; const t0 = t()
  for (const r of s.iterate() as IterableIterator<any>) { JSON.parse(r.data); JSON.parse(r.metadata); n++ }
  return N / (Number(t() - t0) / 1e9)
}
function rawAll() {
  const s = db.prepare('SELECT position, id, stream, revision, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?')
  let n = 0; let from = -1; const t0 = t()
  for (;;) { const rows = s.all(from, 5000) as any[]; if (!rows.length) break; for (const r of rows) { JSON.parse(r.data); JSON.parse(r.metadata); n++ } from = rows[rows.length-1].position }
  return N / (Number(t() - t0) / 1e9)
}
function rawAllKeep() {
  const s = db.prepare('SELECT position, id, stream, revision, type, data, metadata FROM events WHERE position > ? ORDER BY position LIMIT ?')
  let n = 0; let from = -1; const t0 = t()
  for (;;) { const rows = s.all(from, 5000) as any[]; if (!rows.length) break; const out = rows.map(r => ({ ...r, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata) })); n += out.length; from = rows[rows.length-1].position }
  return N / (Number(t() - t0) / 1e9)
}
async function readAll() {
  let from: number | null = null; const t0 = t()
  for (;;) { const ev = await store.readAll({ fromPosition: from, maxCount: 5000 }); if (!ev.length) break; from = ev[ev.length - 1]!.position }
  return N / (Number(t() - t0) / 1e9)
}
for (let i = 0; i < 3; i++) console.log('raw', Math.round(raw()), 'rawAll', Math.round(rawAll()), 'rawAllKeep', Math.round(rawAllKeep()), 'readAll', Math.round(await readAll()))
db.close(); rmSync(dir, { recursive: true })
