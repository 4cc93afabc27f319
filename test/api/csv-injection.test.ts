/**
 * CSV injection (OWASP): no CSV we write may start a cell with a spreadsheet formula. Hostile
 * hardware ids and codecs go in through the JSON batch and the CSV upload; the `response_csv`
 * answers, read back with a real CSV parser, carry them as text prefixed by a single quote.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parse } from 'csv-parse/sync'
import t, { type Test } from 'tap'
import { toCsv } from '../../commands/http/csv.ts'
import { startTestServer } from '../helpers/server.ts'

const formulaStart = /^[=+\-@\t\r]/
const hostileIds = ['=HYPERLINK("http://x","y")', '+1', '@x', '-1', '\t=1', '\r=1', '=1+2', "-2+3+cmd|' /C calc'!A0"]

const readCsv = (text: string): string[][] => parse(text, { relax_column_count: false }) as string[][]

function assertNoFormula(t: Test, records: string[][]): void {
  for (const [row, record] of records.entries()) {
    for (const cell of record) t.notMatch(cell, formulaStart, `row ${row}: ${JSON.stringify(cell)} starts with no formula character`)
  }
}

t.test('the shared CSV writer', async (t) => {
  await t.test('prefixes a single quote to every text cell starting with = + - @ tab or CR', async (t) => {
    const cells = ['=1+2', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '=HYPERLINK("http://x","y")']
    const text = toCsv(['value'], cells.map((cell) => [cell]))
    t.strictSame(readCsv(text), [['value'], ...cells.map((cell) => [`'${cell}`])], 'a parser reads the escaped text back')
  })

  await t.test('leaves other text alone, and numbers as numbers', async (t) => {
    const text = toCsv(['text', 'number'], [['DEV-1', -1], ["'quoted", 2.5], ['a=b', -0.5], ['', null]])
    t.strictSame(readCsv(text), [['text', 'number'], ['DEV-1', '-1'], ["'quoted", '2.5'], ['a=b', '-0.5'], ['', '']])
  })

  await t.test('writes a header line and CRLF line ends', async (t) => {
    t.equal(toCsv(['a', 'b'], [['1', '2']]), 'a,b\r\n1,2\r\n')
  })

  await t.test('is the only code that writes CSV', async (t) => {
    const root = new URL('../../', import.meta.url).pathname
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name)
        if (statSync(path).isDirectory()) return sources(path)
        return path.endsWith('.ts') ? [path] : []
      })
    const writers = ['adapters', 'bench', 'commands', 'domain', 'projections', 'streams']
      .flatMap((dir) => sources(join(root, dir)))
      .filter((path) => /from ['"]csv-stringify/.test(readFileSync(path, 'utf8')))
      .map((path) => relative(root, path))
    t.strictSame(writers, ['commands/http/csv.ts'], 'every other CSV goes through toCsv')
  })
})

t.test('provisioning answers in CSV without formulas', async (t) => {
  const server = await startTestServer(t, { now: () => new Date('2026-05-03T00:00:00.000Z') })
  const maker = server.tokenFor('account-maker')
  const batch = (body: Record<string, unknown>) => server.api<unknown>('POST', '/v1.1/things/registry/batch', { token: maker, body })

  await t.test('each hostile hardware id comes back neutralised (dry runs, one id at a time)', async (t) => {
    for (const id of hostileIds) {
      const json = await batch({ hardware_ids: [id], dry_run: true })
      t.equal(json.status, 200, `${JSON.stringify(id)} is a valid hardware id`)
      const stored = (json.body as { hardware_id: string }[])[0]!.hardware_id
      const csv = await batch({ hardware_ids: [id], dry_run: true, response_csv: true })
      t.equal(csv.status, 200)
      t.match(csv.headers.get('content-type'), /^text\/csv/)
      const records = readCsv(csv.text)
      t.equal(records[1]![2], `'${stored}`, `${JSON.stringify(id)} is written as ${JSON.stringify(`'${stored}`)}`)
      assertNoFormula(t, records)
    }
  })

  await t.test('a provisioned batch with a hostile codec, in CSV; the JSON answer keeps the data as sent', async (t) => {
    const body = { hardware_ids: ['=HYPERLINK("http://x","y")', '+1', '@x', '-1'], codec: '=cmd|"/C calc"!A0' }
    const csv = await batch({ ...body, response_csv: true })
    t.equal(csv.status, 201)
    const records = readCsv(csv.text)
    t.strictSame(
      records.slice(1).map((record) => [record[2], record[4]]),
      body.hardware_ids.map((id) => [`'${id}`, `'${body.codec}`]),
    )
    assertNoFormula(t, records)
    const batchId = csv.headers.get('x-batch-id')
    const listed = await server.api<{ hardware_id: string; codec: string }[]>('GET', `/v1.1/things/registry/batch/${batchId}`, { token: maker })
    t.strictSame(listed.body.map((device) => device.hardware_id).sort(), [...body.hardware_ids].sort(), 'JSON carries the ids unchanged')
  })

  await t.test('a CSV upload answered in CSV', async (t) => {
    const file = 'hardware_id,codec\n"=HYPERLINK(""http://evil"",""click"")",@SUM(1)\n+2,-3\n"-4",\n'
    const form = new FormData()
    form.append('response_csv', 'true')
    form.append('file', new Blob([file]), 'devices.csv')
    const res = await server.api('POST', '/v1.1/things/registry/csv', { token: maker, form })
    t.equal(res.status, 201)
    const records = readCsv(res.text)
    t.strictSame(records.slice(1).map((record) => [record[2], record[4]]), [
      ['\'=HYPERLINK("http://evil","click")', "'@SUM(1)"],
      ["'+2", "'-3"],
      ["'-4", ''],
    ])
    assertNoFormula(t, records)
  })
})
