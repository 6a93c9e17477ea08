import t from 'tap'
import Database from 'better-sqlite3'
import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import type { Store } from '../../../src/core/store/store.js'

const batch = (key: string) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 })
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ mobileNumber: `4520000${String(i).padStart(3, '0')}`, customerId: `c${i}`, text: 't' }))
const inbound = (id: string) => ({ kind: 'inbound' as const, eventId: id, eventType: 'user-message.text.sms', receivedAt: 1000, routes: [{ registrationId: 'r', to: 'Brand' }], from: '4511', text: 'STOP', sentAt: 1000 })

/** Another connection (as another process would) holding SQLite's write lock until released. */
function holdWriteLock (path: string): { release: () => void } {
  const other = new Database(path)
  other.exec('BEGIN IMMEDIATE')
  other.exec("CREATE TABLE IF NOT EXISTS lock_holder (x INTEGER); INSERT INTO lock_holder VALUES (1)")
  return { release: () => { other.exec('COMMIT'); other.close() } }
}

/** The longest gap between ticks of a 5 ms interval while `work` runs: how long the event loop was blocked. */
async function longestStall<T> (work: () => Promise<T>): Promise<{ stallMs: number; outcome: PromiseSettledResult<T>; elapsedMs: number }> {
  let last = performance.now()
  let stallMs = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    stallMs = Math.max(stallMs, now - last)
    last = now
  }, 5)
  const started = performance.now()
  const [outcome] = await Promise.allSettled([work()])
  const elapsedMs = performance.now() - started
  clearInterval(ticker)
  return { stallMs: Math.max(stallMs, performance.now() - last), outcome, elapsedMs }
}

const adapters: Array<[string, (path: string, busyTimeoutMs: number) => Promise<Store>]> = [
  ['SQLite', async (path, busyTimeoutMs) => openSqliteStore({ path, busyTimeoutMs })],
  ['SQLite on its own thread', (path, busyTimeoutMs) => openThreadedStore({ path, busyTimeoutMs })]
]

for (const [name, open] of adapters) {
  t.test(`${name}: while another process holds the lock, a write waits without blocking the event loop, then succeeds`, async (t) => {
    const path = `${t.testdir()}/bridge.db`
    const store = await open(path, 5000)
    t.teardown(() => store.close())
    const lock = holdWriteLock(path)
    const released = setTimeout(lock.release, 400)
    t.teardown(() => clearTimeout(released))

    const { stallMs, outcome, elapsedMs } = await longestStall(() => Promise.all([
      store.acceptCampaign(batch('k'), messages(100)),
      store.recordWebhookEvent(inbound('e1')),
      store.claimDue(2000, 10, 60_000)
    ]))
    t.equal(outcome.status, 'fulfilled', 'every call went through once the lock was released')
    t.ok(elapsedMs >= 350, `they waited for the lock (${Math.round(elapsedMs)} ms)`)
    t.ok(stallMs < 200, `the event loop never stalled for long (longest gap ${Math.round(stallMs)} ms)`)
    t.match(await store.stats(), { batches: 1, incoming: { pending: 1 } })
  })

  t.test(`${name}: a lock held past the busy timeout fails the call (SQLITE_BUSY) in time, and nothing is half-written`, async (t) => {
    const path = `${t.testdir()}/bridge.db`
    const store = await open(path, 300)
    t.teardown(() => store.close())
    const lock = holdWriteLock(path)
    let held = true
    t.teardown(() => { if (held) lock.release() })

    const write = await longestStall(() => store.acceptCampaign(batch('k'), messages(100)))
    t.equal(write.outcome.status, 'rejected')
    t.match((write.outcome as PromiseRejectedResult).reason, { code: /^SQLITE_BUSY/ }, 'the error keeps its code')
    t.ok(write.elapsedMs >= 250 && write.elapsedMs < 1500, `refused after the busy timeout (${Math.round(write.elapsedMs)} ms)`)
    t.ok(write.stallMs < 200, `the event loop stayed free (longest gap ${Math.round(write.stallMs)} ms)`)

    const event = await longestStall(() => store.recordWebhookEvent(inbound('e1')))
    t.equal(event.outcome.status, 'rejected', 'a webhook event is refused too, so the peer retries')
    t.ok(event.elapsedMs < 1500, `in ${Math.round(event.elapsedMs)} ms`)
    t.ok(event.stallMs < 200, `longest gap ${Math.round(event.stallMs)} ms`)

    lock.release()
    held = false
    t.match(await store.stats(), { batches: 0, incoming: { pending: 0 } }, 'nothing of either write was kept')
    t.same(await store.recordWebhookEvent(inbound('e1')), 'new', 'the retried event is taken once the lock is gone')
  })
}
