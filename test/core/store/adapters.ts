import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import { openPgStore } from '../../../src/core/store/pg-store.js'
import type { Store } from '../../../src/core/store/store.js'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import { createMemoryDatabase, openMemoryStore, type MemoryDatabase } from '../../fakes/memory-store.js'
import { pgTestSetting, schemaUrlFor } from './pg-test-database.js'

/**
 * Opens an adapter on the database of `dir` (a test's own folder): fresh at its first opening, the
 * same when opened again. Each opening is an instance of its own (a replica), named `instanceId`
 * when given (a random UUID otherwise).
 */
export type OpenStore = (dir: string, options?: OpenOptions) => Promise<Store>
export interface OpenOptions { instanceId?: string }

const pg = pgTestSetting()

/** The memory databases of this test file, by folder: a folder opened again is the same database, as a SQLite file would be. */
const memoryDatabases = new Map<string, MemoryDatabase>()
function memoryDatabaseOf (dir: string): MemoryDatabase {
  const database = memoryDatabases.get(dir) ?? createMemoryDatabase()
  memoryDatabases.set(dir, database)
  return database
}

/** PostgreSQL, when DATABASE_URL_TEST names a database; in CI without it, an adapter whose every opening fails saying so. */
const postgres: Array<[name: string, open: OpenStore]> = 'url' in pg
  ? [['PostgreSQL', async (dir, o = {}) => openPgStore({ url: await schemaUrlFor(pg.url, dir), recipientIndex: true, ...o })]]
  : 'missing' in pg ? [['PostgreSQL', () => Promise.reject(new Error(pg.missing))]] : []

/**
 * Every adapter of the store port that runs here, each opened on a fresh database in `dir`. The
 * contract tests (the store tests that go through the interfaces only) run against each of them.
 * Each remembers which registrations text which numbers (as with several registrations).
 */
export const ADAPTERS: Array<[name: string, open: OpenStore]> = [
  ['SQLite', async (dir, o = {}) => openSqliteStore({ path: `${dir}/bridge.db`, recipientIndex: true, ...o })],
  ['SQLite on its own thread', (dir, o = {}) => openThreadedStore({ path: `${dir}/bridge.db`, recipientIndex: true, ...o })],
  ['in memory', async (dir, o = {}) => openMemoryStore({ database: memoryDatabaseOf(dir), ...o })],
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
