import { parentPort, workerData } from 'node:worker_threads'
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js'
import type { Store } from './store.js'

/** The worker side of the threaded store: the SQLite adapter, answering calls posted by the main thread. */
const store = openSqliteStore(workerData as SqliteStoreOptions)
type Call = { id: number; method: keyof Store; args: unknown[] }

parentPort!.on('message', ({ id, method, args }: Call) => {
  (store[method] as (...a: unknown[]) => Promise<unknown>)(...args).then(
    (result) => {
      parentPort!.postMessage({ id, result })
      if (method === 'close') parentPort!.close()
    },
    (err: Error) => parentPort!.postMessage({ id, error: { name: err.name, message: err.message } })
  )
})
parentPort!.postMessage({ ready: true })
