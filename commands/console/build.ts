/**
 * Bundles the dashboard (commands/console/web) into commands/console/dist with esbuild:
 * one ES module and one stylesheet, minified. `npm ci` (prepare) and `npm start`
 * (prestart) run it; `npm run build:console` does it by hand. It takes well under a second.
 */
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export const webDir = fileURLToPath(new URL('./web/', import.meta.url))
export const distDir = fileURLToPath(new URL('./dist/', import.meta.url))

export async function buildDashboard(): Promise<void> {
  await build({
    entryPoints: { app: `${webDir}main.tsx`, styles: `${webDir}styles.css` },
    outdir: distDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildDashboard()
