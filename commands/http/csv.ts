/**
 * Every CSV we write goes through here, so none can carry a spreadsheet formula (OWASP
 * "CSV injection"): csv-stringify's `escape_formulas` prefixes a single quote to each text
 * cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return (`-1` as text becomes
 * `'-1`). Cells that are JS numbers stay as they are: their text is only digits, a sign, a
 * point and an exponent, which a spreadsheet reads as a number, never as a formula.
 */
import { stringify } from 'csv-stringify/sync'

export type CsvCell = string | number | null

const options = { header: true, record_delimiter: 'windows', escape_formulas: true } as const

/** A CSV text with a header line of `columns`, CRLF line ends, formulas neutralised. */
export function toCsv(columns: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return stringify([...rows], { ...options, columns: [...columns] })
}
