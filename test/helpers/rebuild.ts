/** Rebuilt read models must equal the incrementally built ones: the two halves of that check. */
import type { Test } from 'tap'
import { openEmbeddedStores } from '../../adapters/capsicum.ts'
import { loadConfig } from '../../adapters/config.ts'
import { allProjections } from '../../projections/index.ts'
import type { ReadStore } from '../../domain/ports/read-store.ts'
import { ProjectionRunner } from '../../projections/runner.ts'

/** Every document of the named collections, in id order. */
export async function readModelSnapshot(store: ReadStore, collections: readonly string[]): Promise<Record<string, unknown[]>> {
  return Object.fromEntries(
    await Promise.all(collections.map(async (name) => [name, await store.collection(name).find({}, { orderBy: 'id' })] as const)),
  )
}

/** Rebuilds every read model of a stopped server's DATA_DIR from its log and snapshots them. */
export async function rebuiltSnapshot(t: Test, dataDir: string, collections: readonly string[]): Promise<Record<string, unknown[]>> {
  const stores = openEmbeddedStores(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }))
  t.teardown(() => stores.close())
  const runner = new ProjectionRunner({
    eventStore: stores.eventStore,
    readStore: stores.readStore,
    projections: allProjections,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  })
  await runner.rebuild()
  return readModelSnapshot(stores.readStore, collections)
}
