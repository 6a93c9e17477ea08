import type { Store } from './store.js'
import { openSqliteStore, sqlitePathFromUrl } from './sqlite-store.js'
import { openThreadedStore } from './threaded-store.js'

/**
 * Opens the store a DATABASE_URL names (SQLite today; the port allows others), on a worker
 * thread of its own when `threaded`.
 */
export async function openStore (databaseUrl: string, options: { recipientIndex?: boolean; threaded?: boolean; busyTimeoutMs?: number } = {}): Promise<Store> {
  const sqlite = {
    path: sqlitePathFromUrl(databaseUrl),
    ...(options.recipientIndex === undefined ? {} : { recipientIndex: options.recipientIndex }),
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs })
  }
  return options.threaded === true ? openThreadedStore(sqlite) : openSqliteStore(sqlite)
}
