/**
 * Starts a worker thread on one of our TypeScript modules. Our sources run through tsx's
 * loader, which the `capsicum` command registers in its main thread only
 * (adapters/cli/bin.js): a worker registers it for itself, then loads the module. Where
 * Node was given the loader already (`--import tsx`: tests, scripts), the worker inherits
 * it, and the module loads through the first one that takes it.
 */
import { Worker } from 'node:worker_threads'

const bootstrap = `
const { workerData } = require('node:worker_threads')
import(workerData.loader).then(({ register }) => {
  register()
  return import(workerData.module)
})
`

export function startTypeScriptWorker(module: URL, workerData: Readonly<Record<string, unknown>>): Worker {
  return new Worker(bootstrap, { eval: true, workerData: { ...workerData, module: module.href, loader: import.meta.resolve('tsx/esm/api') } })
}
