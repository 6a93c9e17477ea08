import type { Store } from './store.js'
import { openSqliteStore, sqlitePathFromUrl } from './sqlite-store.js'

/** Opens the store a DATABASE_URL names (SQLite today; the port allows others). */
export function openStore (databaseUrl: string, options: { recipientIndex?: boolean } = {}): Store {
  return openSqliteStore({ path: sqlitePathFromUrl(databaseUrl), ...options })
}
