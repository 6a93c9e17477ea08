import { parentPort, workerData } from 'node:worker_threads'
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js'
import type { PendingReport } from './store.js'
import type { StoreMethod } from './threaded-store.js'
import { packShared } from './shared-text.js'
import { errorShape } from './store-error.js'

/** The worker side of the threaded store: the SQLite adapter, answering calls posted by the main thread. */
const store = openSqliteStore(workerData as SqliteStoreOptions)
type Call = { id: number; method: StoreMethod; args: unknown[] }

parentPort!.on('message', ({ id, method, args }: Call) => {
  (store[method] as (...a: unknown[]) => Promise<unknown>)(...args).then(
    (result) => {
      // Reports of one batch share their metadata: send it once, not once per report.
      parentPort!.postMessage({ id, result: method === 'claimReports' ? packShared(result as PendingReport[]) : result })
      if (method === 'close') parentPort!.close()
    },
    (err: unknown) => parentPort!.postMessage({ id, error: errorShape(err) })
  )
})
parentPort!.postMessage({ ready: true })
