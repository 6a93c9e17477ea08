import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import { openPgStore } from '../../../src/core/store/pg-store.js'
import type { Store } from '../../../src/core/store/store.js'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import { openMemoryStore } from '../../fakes/memory-store.js'
import { pgTestSetting, schemaUrlFor } from './pg-test-database.js'

/** Opens an adapter on the database of `dir` (a test's own folder): fresh at its first opening, the same when opened again. */
export type OpenStore = (dir: string) => Promise<Store>

const pg = pgTestSetting()

/** PostgreSQL, when DATABASE_URL_TEST names a database; in CI without it, an adapter whose every opening fails saying so. */
const postgres: Array<[name: string, open: OpenStore]> = 'url' in pg
  ? [['PostgreSQL', async (dir) => openPgStore({ url: await schemaUrlFor(pg.url, dir), recipientIndex: true })]]
  : 'missing' in pg ? [['PostgreSQL', () => Promise.reject(new Error(pg.missing))]] : []

/**
 * Every adapter of the store port that runs here, each opened on a fresh database in `dir`. The
 * contract tests (the store tests that go through the interfaces only) run against each of them.
 * Each remembers which registrations text which numbers (as with several registrations).
 */
export const ADAPTERS: Array<[name: string, open: OpenStore]> = [
  ['SQLite', async (dir) => openSqliteStore({ path: `${dir}/bridge.db`, recipientIndex: true })],
  ['SQLite on its own thread', (dir) => openThreadedStore({ path: `${dir}/bridge.db`, recipientIndex: true })],
  ['in memory', async () => openMemoryStore()],
  ...postgres
]

/**
 * The adapters of the contract suite with the options of their tests: those of ADAPTERS, and
 * PostgreSQL skipped with its reason when it cannot run here (DATABASE_URL_TEST unset, outside CI),
 * so that a run shows what it did not test.
 */
export const CONTRACT_ADAPTERS: Array<[name: string, open: OpenStore, options: { skip?: string }]> = [
  ...ADAPTERS.map(([name, open]): [string, OpenStore, { skip?: string }] => [name, open, {}]),
  ...('skip' in pg ? [['PostgreSQL', () => Promise.reject(new Error(pg.skip)), { skip: pg.skip }] as [string, OpenStore, { skip?: string }]] : [])
]
