/** The README's configuration table is what the config module reads: no variable undocumented. */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { configVariables } from '../adapters/config.ts'

t.test('every configuration variable is documented in the README', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  for (const name of Object.keys(configVariables)) t.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} is in the table`)
  t.match(readme, /npm ci/)
  t.match(readme, /npm start/)
  t.match(readme, /npm test/)
})
