/**
 * Imports point one way: adapters → streams → commands → projections → domain. A folder
 * imports only from folders below it, and no two files import each other, directly or
 * around a circle (type-only imports count: they are arrows of the design all the same).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const root = fileURLToPath(new URL('../..', import.meta.url))
const layers = ['domain', 'projections', 'commands', 'streams', 'adapters'] as const
const rank = new Map<string, number>(layers.map((layer, i) => [layer, i]))

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'dist') return []
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

const specifier = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g
const files = layers.flatMap((layer) => sourceFiles(join(root, layer)))
const imports = new Map<string, string[]>()
for (const file of files) {
  const targets = [...readFileSync(file, 'utf8').matchAll(specifier)].map((m) => resolve(dirname(file), m[1]!))
  imports.set(file, targets.filter((target) => rank.has(relative(root, target).split('/')[0]!)))
}
const layerOf = (file: string): string => relative(root, file).split('/')[0]!

t.test('no folder imports one above it', async (t) => {
  t.ok(files.length > 100, 'there are source files to check')
  const upward = [...imports].flatMap(([file, targets]) =>
    targets.filter((target) => rank.get(layerOf(target))! > rank.get(layerOf(file))!).map((target) => `${relative(root, file)} -> ${relative(root, target)}`),
  )
  t.strictSame(upward, [], 'every import points down the layers')
})

t.test('no import circles', async (t) => {
  const state = new Map<string, 'visiting' | 'done'>()
  const circles: string[] = []
  const visit = (file: string, path: string[]): void => {
    state.set(file, 'visiting')
    for (const target of imports.get(file) ?? []) {
      if (state.get(target) === 'visiting') circles.push([...path.slice(path.indexOf(target)), target].map((f) => relative(root, f)).join(' -> '))
      else if (!state.has(target)) visit(target, [...path, target])
    }
    state.set(file, 'done')
  }
  for (const file of files) if (!state.has(file)) visit(file, [file])
  t.strictSame(circles, [], 'no file reaches itself through its imports')
})
