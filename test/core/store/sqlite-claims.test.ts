import t from 'tap'
import { Worker } from 'node:worker_threads'
import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import type { NewBatch, NewMessage, Store } from '../../../src/core/store/store.js'

// SQLite's own concurrency: two connections to one database file, in turns and in two threads,
// never claim one message twice. (PostgreSQL's is in pg-claims.test.ts; the claims' contract
// itself, against every adapter, in relay-queries.test.ts.)

function batch (key: string, overrides: Partial<NewBatch> = {}): NewBatch {
  return { registrationId: 'tenant-a', idempotencyKey: key, batchId: `batch-${key}`, requestId: `request-${key}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900, ...overrides }
}

function messages (n: number, label: string): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({ mobileNumber: `4520${String(i).padStart(6, '0')}`, customerId: `${label}-customer-${i}`, text: `${label} text ${i}` }))
}

/** Every message was claimed exactly once: leased, at its first attempt. */
async function eachClaimedOnce (store: Store): Promise<boolean> {
  return (await store.inspect()).messages.every((m) => m.state === 'sending' && m.attempts === 1)
}

t.test('two connections claiming in turns never share a message and miss none', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const a = openSqliteStore({ path })
  const b = openSqliteStore({ path })
  t.teardown(async () => { await a.close(); await b.close() })
  for (let k = 0; k < 4; k++) await a.acceptCampaign(batch(`k${k}`, { scheduledAt: 1000 + k }), messages(250, `b${k}`))

  const drain = async (store: Store): Promise<string[]> => {
    const got: string[] = []
    for (let claimed = await store.claimDue(5000, 7, 60_000); claimed.length > 0; claimed = await store.claimDue(5000, 7, 60_000)) {
      got.push(...claimed.map((m) => m.id))
    }
    return got
  }
  const [fromA, fromB] = await Promise.all([drain(a), drain(b)])
  t.ok(fromA.length > 0 && fromB.length > 0, `both connections claimed (${fromA.length} / ${fromB.length})`)
  const seenByA = new Set(fromA)
  t.equal(fromB.filter((id) => seenByA.has(id)).length, 0, 'no message returned to both')
  const all = [...fromA, ...fromB]
  t.equal(all.length, 1000)
  t.equal(new Set(all).size, 1000, 'every message exactly once')
  t.ok(await eachClaimedOnce(a), 'each claimed once')
})

// The same in two threads, so that the two connections really contend for SQLite's write lock.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
;(async () => {
  const { tsImport } = await import(workerData.tsx)
  const { openSqliteStore } = await tsImport(workerData.storeModule, workerData.parent)
  // A generous lock budget: this test is about exclusive claims, not about how long a lock is waited for
  // (a loaded machine can starve a thread past the default budget).
  const store = openSqliteStore({ path: workerData.path, busyTimeoutMs: 30000 })
  const gate = workerData.gate
  // Start together: wait until both threads have opened their connection.
  Atomics.add(gate, 0, 1)
  Atomics.notify(gate, 0)
  while (Atomics.load(gate, 0) < 2) Atomics.wait(gate, 0, 1)
  const ids = []
  for (;;) {
    const claimed = await store.claimDue(workerData.now, workerData.limit, 60000)
    if (claimed.length === 0) break
    for (const m of claimed) ids.push(m.id)
  }
  await store.close()
  parentPort.postMessage({ ids })
})().catch((err) => parentPort.postMessage({ error: String((err && err.stack) || err) }))
`

t.test('two connections in two threads claiming at once never share a message and miss none', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  for (let k = 0; k < 3; k++) await store.acceptCampaign(batch(`k${k}`), messages(1000, `b${k}`))

  const gate = new Int32Array(new SharedArrayBuffer(4))
  const workerData = {
    tsx: import.meta.resolve('tsx/esm/api'),
    storeModule: new URL('../../../src/core/store/sqlite-store.ts', import.meta.url).href,
    parent: import.meta.url,
    path,
    now: 5000,
    limit: 5,
    gate
  }
  const run = (): Promise<{ ids?: string[]; error?: string }> => new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData })
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  const results = await Promise.all([run(), run()])
  t.same(results.map((r) => r.error), [undefined, undefined], 'no claim failed (e.g. SQLITE_BUSY)')
  const [fromA, fromB] = results.map((r) => r.ids ?? [])
  const seenByA = new Set(fromA)
  t.equal(fromB!.filter((id) => seenByA.has(id)).length, 0, 'no message returned to both')
  const all = [...fromA!, ...fromB!]
  t.equal(all.length, 3000)
  t.equal(new Set(all).size, 3000, 'every message exactly once')
  t.ok(await eachClaimedOnce(store), 'each claimed once')
})
