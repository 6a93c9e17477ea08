import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import type { Store } from '../../../src/core/store/store.js'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import { openMemoryStore } from '../../fakes/memory-store.js'

/**
 * Every adapter of the store port, each opened on a fresh database in `dir`. The contract
 * tests (the store tests that go through the interfaces only) run against each of them.
 * Each remembers which registrations text which numbers (as with several registrations).
 */
export const ADAPTERS: Array<[name: string, open: (dir: string) => Promise<Store>]> = [
  ['SQLite', async (dir) => openSqliteStore({ path: `${dir}/bridge.db`, recipientIndex: true })],
  ['SQLite on its own thread', (dir) => openThreadedStore({ path: `${dir}/bridge.db`, recipientIndex: true })],
  ['in memory', async () => openMemoryStore()]
]
