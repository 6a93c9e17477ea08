import type { Store } from './store.js'
import { openSqliteStore, sqlitePathFromUrl } from './sqlite-store.js'
import { openThreadedStore } from './threaded-store.js'
import { isPostgresUrl } from './database-url.js'
import { openPgStore } from './pg-store.js'

export interface OpenStoreOptions {
  recipientIndex?: boolean
  /** This process's name among the replicas on the database, recorded by its claims (default: a random UUID). */
  instanceId?: string
  /** SQLite only: run the store on a worker thread of its own. */
  threaded?: boolean
  /** SQLite only: how long a call waits for another process's lock. */
  busyTimeoutMs?: number
  /** PostgreSQL only: connections at most, per process. */
  poolSize?: number
  /** PostgreSQL only: the server cancels a statement that runs longer. */
  statementTimeoutMs?: number
  /** PostgreSQL only: told of a pooled connection that failed while idle (the pool opens another). */
  onConnectionError?: (err: Error) => void
}

/**
 * Opens the store a DATABASE_URL names: PostgreSQL for `postgres://` and `postgresql://`
 * URLs, SQLite otherwise (on a worker thread of its own when `threaded`).
 */
export async function openStore (databaseUrl: string, options: OpenStoreOptions = {}): Promise<Store> {
  const recipientIndex = options.recipientIndex === undefined ? {} : { recipientIndex: options.recipientIndex }
  const instanceId = options.instanceId === undefined ? {} : { instanceId: options.instanceId }
  if (isPostgresUrl(databaseUrl)) {
    return openPgStore({
      url: databaseUrl,
      ...recipientIndex,
      ...instanceId,
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
      ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      ...(options.onConnectionError === undefined ? {} : { onConnectionError: options.onConnectionError })
    })
  }
  const sqlite = {
    path: sqlitePathFromUrl(databaseUrl),
    ...recipientIndex,
    ...instanceId,
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs })
  }
  return options.threaded === true ? openThreadedStore(sqlite) : openSqliteStore(sqlite)
}
