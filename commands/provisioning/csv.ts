/**
 * The CSV side of provisioning, with csv-parse and csv-stringify (never a hand-written
 * parser; the answer is written by the shared, formula-neutralising `toCsv`). A file is UTF-8 text (a BOM is dropped; NUL bytes or invalid UTF-8 mean it is
 * binary and refused), its first line a header naming the columns in any order
 * (`hardware_id`, `device_type_id`, `codec`; others ignored), CRLF or LF, blank lines
 * skipped. Every problem names its row as the line of the file (the header is line 1).
 */
import { parse, CsvError } from 'csv-parse/sync'
import { z } from 'zod'
import { ValidationError, type ErrorDetail } from '../../domain/errors.ts'
import { toCsv } from '../http/csv.ts'
import { maxBatchSize, type DeviceToProvision } from '../../domain/provisioning/provisioning.ts'
import { genericThingTypeId } from '../../domain/thing-type/thing-type.ts'
import type { ProvisionedDeviceView } from '../../projections/provisioned-devices.ts'

export const knownColumns = ['hardware_id', 'device_type_id', 'codec'] as const
export const maxCsvBytes = 256 * 1024
const maxFieldLength = 1024

const fileProblem = (problem: string, code = 'invalid_csv'): ValidationError =>
  new ValidationError(`The CSV file was rejected and nothing was provisioned: ${problem}`, [{ field: 'file', problem }], code)

function decodeText(bytes: Buffer): string {
  if (bytes.includes(0)) throw fileProblem('is binary, not CSV text (it contains NUL bytes)')
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw fileProblem('is not UTF-8 text')
  }
}

const uuid = z.uuid()
const printable = /^[\x20-\x7e]+$/

/** The rows of a provisioning file, or a ValidationError listing every bad row. */
export function parseProvisioningCsv(bytes: Buffer): Omit<DeviceToProvision, 'thingId'>[] {
  const text = decodeText(bytes)
  let parsed: { record: string[]; info: { lines: number } }[]
  try {
    parsed = parse(text, {
      info: true,
      bom: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      trim: true,
      relax_column_count: false,
      max_record_size: maxFieldLength * 4,
      // the header, 500 rows, and one more to tell "too many" from "just enough"
      to: maxBatchSize + 2,
    }) as unknown as { record: string[]; info: { lines: number } }[]
  } catch (error) {
    if (error instanceof CsvError) {
      const line = (error as CsvError & { lines?: number }).lines
      throw fileProblem(`${line ? `line ${line}: ` : ''}${error.message.replace(/^Invalid Record Length: /, '')}`)
    }
    throw error
  }
  const header = parsed[0]?.record
  const rows = parsed.slice(1).map((entry) => entry.record)
  // Line numbers: the parser knows the line each record ends on (blank lines are skipped).
  const lines = parsed.map((entry) => entry.info.lines)
  if (!header) throw fileProblem('is empty: the first line must be a header naming hardware_id, device_type_id, codec')
  const columns = header.map((name) => name.trim().toLowerCase())
  const duplicates = columns.filter((name, i) => name !== '' && columns.indexOf(name) !== i)
  if (duplicates.length > 0) throw fileProblem(`header names ${duplicates.join(', ')} more than once`)
  const index = Object.fromEntries(knownColumns.map((name) => [name, columns.indexOf(name)])) as Record<(typeof knownColumns)[number], number>
  if (index.hardware_id === -1) throw fileProblem('the first line must be a header with a hardware_id column (and optionally device_type_id, codec)', 'csv_header_missing')
  if (rows.length === 0) throw fileProblem('has a header but no rows')
  if (rows.length > maxBatchSize) {
    throw new ValidationError(
      `The CSV file was rejected and nothing was provisioned: more than ${maxBatchSize} rows`,
      [{ field: 'file', problem: `must have at most ${maxBatchSize} rows (besides the header)` }],
      'batch_too_large',
    )
  }

  const problems: ErrorDetail[] = []
  const devices = rows.map((row, i) => {
    const line = lines[i + 1] ?? i + 2
    const cell = (name: (typeof knownColumns)[number]): string => (index[name] === -1 ? '' : (row[index[name]] ?? '').trim())
    const fieldNames = { hardwareId: `row ${line}.hardware_id`, deviceTypeId: `row ${line}.device_type_id` }
    const hardwareId = cell('hardware_id')
    const deviceTypeId = cell('device_type_id') || genericThingTypeId
    const codec = cell('codec')
    if (hardwareId === '') problems.push({ field: fieldNames.hardwareId, problem: 'is required' })
    else if (hardwareId.length > 128) problems.push({ field: fieldNames.hardwareId, problem: 'must be at most 128 characters' })
    else if (!printable.test(hardwareId)) problems.push({ field: fieldNames.hardwareId, problem: 'must be printable ASCII' })
    if (!uuid.safeParse(deviceTypeId).success) problems.push({ field: fieldNames.deviceTypeId, problem: 'must be a thing type id (UUID)' })
    if (codec.length > 255) problems.push({ field: `row ${line}.codec`, problem: 'must be at most 255 characters' })
    return { hardwareId, deviceTypeId, codec: codec || null, fieldNames }
  })
  if (problems.length > 0) {
    throw new ValidationError(
      `The CSV file was rejected and nothing was provisioned: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      problems,
      'batch_rejected',
    )
  }
  return devices
}

export const csvColumns = ['id', 'application_id', 'hardware_id', 'device_type_id', 'codec', 'status', 'created_at'] as const

export function devicesToCsv(devices: readonly ProvisionedDeviceView[]): string {
  return toCsv(
    csvColumns,
    devices.map((device) => csvColumns.map((column) => device[column] ?? '')),
  )
}
