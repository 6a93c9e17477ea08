import { randomUUID } from 'node:crypto'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { SqliteStoreOptions } from './sqlite-store.js'
import type { PendingReport, Store } from './store.js'
import { unpackShared, type PackedRows } from './shared-text.js'
import { errorFromShape, type ErrorShape } from './store-error.js'

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void }
/** What the worker answers: every method of the port but the signals, which SQLite does not send. */
export type StoreMethod = Exclude<keyof Store, 'instanceId' | 'signalWork' | 'listenForWork'>

/**
 * The SQLite store on a worker thread of its own, behind the same port: SQLite's work (and
 * its fsyncs) runs beside the event loop instead of on it, on the machine's other core.
 * Each call is one message each way; the calls' contracts are the adapter's. The instance id is
 * chosen here, so that it is known on this thread; work signals are SQLite's (none), answered
 * here too (a listener, a function, cannot cross to the worker).
 */
export async function openThreadedStore (given: SqliteStoreOptions): Promise<Store> {
  const instanceId = given.instanceId ?? randomUUID()
  const options: SqliteStoreOptions = { ...given, instanceId }
  // The worker runs the same build as this module: compiled JavaScript, or TypeScript under tsx.
  const extension = extname(fileURLToPath(import.meta.url))
  const file = new URL(`./store-worker${extension}`, import.meta.url)
  const worker = extension === '.ts'
    // Loader hooks do not reach worker threads on Node 20: load the TypeScript entry through tsx's API.
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ tsImport }) => tsImport(${JSON.stringify(file.href)}, ${JSON.stringify(import.meta.url)}))`, { eval: true, workerData: options })
    : new Worker(file, { workerData: options })
  const pending = new Map<number, Pending>()
  let nextId = 0
  let closed: Error | undefined

  const failAll = (err: Error): void => {
    closed = err
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  }
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve())
    worker.once('error', reject)
  })
  worker.on('message', (reply: { id: number; result?: unknown; error?: ErrorShape }) => {
    const p = pending.get(reply.id)
    if (p === undefined) return
    pending.delete(reply.id)
    // The error's code (SQLITE_BUSY, ...) and its causes survive the thread boundary.
    if (reply.error !== undefined) p.reject(errorFromShape(reply.error))
    else p.resolve(reply.result)
  })
  worker.on('error', (err) => failAll(err))
  // Listened to from the start: the exit may come in the same turn as the answer to `close`.
  const exited = new Promise<void>((resolve) => worker.once('exit', () => {
    failAll(new Error('the store is closed'))
    resolve()
  }))

  const call = (method: StoreMethod, ...args: unknown[]): Promise<any> => {
    if (closed !== undefined) return Promise.reject(new Error('The database connection is not open'))
    return new Promise((resolve, reject) => {
      const id = nextId++
      pending.set(id, { resolve, reject })
      worker.postMessage({ id, method, args })
    })
  }

  /** SQLite cannot signal another process: nothing to do, but refused once closed, as every other call is. */
  const nothingToSignal = async (): Promise<void> => {
    if (closed !== undefined) throw new Error('The database connection is not open')
  }

  return {
    instanceId,
    acceptCampaign: (batch, messages) => call('acceptCampaign', batch, messages),
    claimDue: (now, limit, leaseMs, scope) => call('claimDue', now, limit, leaseMs, scope),
    markSubmitted: (results, now) => call('markSubmitted', results, now),
    reschedule: (items, error, now, opts) => call('reschedule', items, error, now, opts),
    fail: (items, now) => call('fail', items, now),
    recordWebhookEvent: (event) => call('recordWebhookEvent', event),
    claimReports: async (now, limit, leaseMs, maxBytes, excluded) => unpackShared<PendingReport>(await call('claimReports', now, limit, leaseMs, maxBytes, excluded) as PackedRows<PendingReport>),
    claimIncoming: (now, limit, leaseMs, maxBytes, excluded) => call('claimIncoming', now, limit, leaseMs, maxBytes, excluded),
    settleOutbox: (outbox, settlement, now) => call('settleOutbox', outbox, settlement, now),
    registrationsOfRecipient: (msisdn) => call('registrationsOfRecipient', msisdn),
    prune: (cutoff, recipientCutoff) => call('prune', cutoff, recipientCutoff),
    nextDueAt: (excluded, only) => call('nextDueAt', excluded, only),
    endUnconfirmed: (cutoffs, otherwise, now) => call('endUnconfirmed', cutoffs, otherwise, now),
    heartbeat: (now, deadBefore) => call('heartbeat', now, deadBefore),
    retireInstance: () => call('retireInstance'),
    leaseJob: (job, now, until) => call('leaseJob', job, now, until),
    signalWork: () => nothingToSignal(),
    listenForWork: async () => {
      await nothingToSignal()
      return async () => {}
    },
    ping: () => call('ping'),
    stats: () => call('stats'),
    inspect: (options) => call('inspect', options),
    parked: (options) => call('parked', options),
    lookupBatches: (key, limit) => call('lookupBatches', key, limit),
    lookupMessages: (key, limit) => call('lookupMessages', key, limit),
    requeueParked: (filter, now) => call('requeueParked', filter, now),
    cancelBatch: (batchId, now) => call('cancelBatch', batchId, now),
    setRegistrationPaused: (registrationId, paused, now) => call('setRegistrationPaused', registrationId, paused, now),
    pausedRegistrations: () => call('pausedRegistrations'),
    erasePhoneNumber: (msisdn, now) => call('erasePhoneNumber', msisdn, now),
    setSuppressed: (registrationId, msisdn, suppressed, now) => call('setSuppressed', registrationId, msisdn, suppressed, now),
    suppressions: (filter, limit) => call('suppressions', filter, limit),
    async close () {
      if (closed === undefined) await call('close')
      await exited
    }
  }
}
