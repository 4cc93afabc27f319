/** The domain is pure: no I/O, no clock, no randomness, no engine, no adapter. */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const domainDir = fileURLToPath(new URL('../../domain', import.meta.url))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

const forbidden: [RegExp, string][] = [
  [/from ['"](node:)?(fs|net|http|https|crypto|child_process|os|dgram|dns|tls|worker_threads)(\/[^'"]*)?['"]/, 'a Node I/O module'],
  [/from ['"](better-sqlite3|mongodb|kafkajs|aedes|ioredis|@kurrent\/[^'"]+|express|pino)['"]/, 'an engine or framework'],
  [/from ['"][./]*\/(adapters|commands|projections|streams)\//, 'a layer outside the domain'],
  [/\bDate\.now\(|new Date\(\s*\)/, 'the clock'],
  [/\bMath\.random\(|randomUUID/, 'randomness'],
  [/\bprocess\./, 'the process'],
  [/:\s*any\b|as any\b/, '`any`'],
]

t.test('domain/ imports no I/O and reads no clock or randomness', async (t) => {
  const files = sourceFiles(domainDir)
  t.ok(files.length > 0, 'there are domain files to check')
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const [pattern, what] of forbidden) {
      t.notMatch(text, pattern, `${file.slice(domainDir.length + 1)} uses no ${what}`)
    }
  }
})
