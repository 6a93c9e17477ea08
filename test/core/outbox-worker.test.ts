import t, { type Test } from 'tap'
import { EventEmitter, once } from 'node:events'
import { OutboxWorker, type DeliveryResult, type OutboxWorkerOptions } from '../../src/core/outbox-worker.js'
import type { OutboxState, PendingReport, Store } from '../../src/core/store/store.js'
import { systemClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/logger.js'
import { ADAPTERS } from './store/adapters.js'
import { until } from '../helper.js'

// The outbox worker against every store adapter (SQLite and the in-memory fake among them),
// with a peer whose answers the test gives by hand. What is asserted is what the store says
// through its interface.

const unusable = (n: number) => Array.from({ length: n }, (_, i) => ({
  mobileNumber: `bad-${i}`, customerId: `c${i}`, text: 't', failure: { outcome: 'invalid-recipient' as const, reason: 'unusable number' }
}))

for (const [adapter, open] of ADAPTERS) {
  /** A store holding `n` due delivery reports (a campaign of unusable numbers), closed at teardown. */
  const storeWithReports = async (t: Test, n: number): Promise<Store> => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const now = Date.now()
    await store.acceptCampaign({ registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: now, receivedAt: now }, unusable(n))
    return store
  }
  outboxWorkerTests(adapter, open, storeWithReports)
}

/** A peer whose answers the test gives by hand, one per request, in any order. */
function handPeer () {
  const pending = new Map<string, (result: DeliveryResult) => void>()
  const arrived = new Set<string>()
  const waiters: Array<() => void> = []
  return {
    deliver: (items: PendingReport[]) => new Promise<DeliveryResult>((resolve) => {
      pending.set(items[0]!.reference, resolve)
      arrived.add(items[0]!.reference)
      for (const w of waiters.splice(0)) w()
    }),
    answer (reference: string, result: DeliveryResult = { kind: 'done' }) {
      pending.get(reference)!(result)
      pending.delete(reference)
    },
    async arrivals (n: number): Promise<string[]> {
      while (arrived.size < n) await new Promise<void>((resolve) => waiters.push(resolve))
      return [...arrived]
    },
    waiting: () => [...pending.keys()]
  }
}

function worker (store: Store, deliver: (items: PendingReport[]) => Promise<DeliveryResult>, options: { concurrency: number; claimSize: number }) {
  return new OutboxWorker<PendingReport>(workerOptions(store, deliver, options))
}

function workerOptions (store: Store, deliver: (items: PendingReport[]) => Promise<DeliveryResult>, options: { concurrency: number; claimSize: number }): OutboxWorkerOptions<PendingReport> {
  return {
    outbox: 'reports',
    store,
    clock: systemClock,
    logger: createLogger('silent'),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimReports(now, limit, leaseMs, maxBytes, excluded),
    deliver,
    perRequest: 1,
    leaseMs: 60_000,
    // Long: a retried row stays pending until the test is over (no test here waits for a retry's
    // time), and the test wakes the loop, it never waits for the poll.
    backoff: { baseMs: 60_000, capMs: 60_000 },
    idlePollMs: 600_000,
    ...options
  }
}

/** The store's delivery reports by state. */
const statesOf = async (store: Store): Promise<Record<OutboxState, number>> => (await store.stats()).reports
const only = (counts: Partial<Record<OutboxState, number>>): Record<OutboxState, number> => ({ pending: 0, sending: 0, done: 0, parked: 0, ...counts })

function outboxWorkerTests (adapter: string, open: (dir: string) => Promise<Store>, storeWithReports: (t: Test, n: number) => Promise<Store>): void {

  /** A store whose claims are announced on `claims` (with how many rows each found), so a test knows the worker looked. */
  const watched = async (t: Test) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const claims = new EventEmitter<{ claimed: [rows: number] }>()
    const watching: Store = { ...store, claimReports: async (...args) => { const rows = await store.claimReports(...args); claims.emit('claimed', rows.length); return rows } }
    const addReports = (key: string, n: number) => store.acceptCampaign({ registrationId: 'r', idempotencyKey: key, batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: Date.now(), receivedAt: Date.now() }, unusable(n))
    return { store, watching, claims, addReports }
  }

  t.test(`${adapter}: wake() sends what was stored after the worker went idle, without waiting for the idle poll`, async (t) => {
    const { store, watching, claims, addReports } = await watched(t)
    const peer = handPeer()
    const w = worker(watching, peer.deliver, { concurrency: 2, claimSize: 4 })
    const lookedOnce = once(claims, 'claimed')
    w.start()
    t.same(await lookedOnce, [0], 'it looked and found nothing')
    await addReports('later', 2)
    w.wake() // the idle poll is ten minutes: only the wake-up can bring these
    for (const reference of await peer.arrivals(2)) peer.answer(reference)
    await until(w, 'settled', async () => !((await statesOf(store)).done < 2))
    await w.stop()
    t.same(await statesOf(store), only({ done: 2 }))
  })

  t.test(`${adapter}: with nobody waking it, the idle poll's timer finds what was stored meanwhile`, async (t) => {
    const { store, watching, claims, addReports } = await watched(t)
    const peer = handPeer()
    const w = new OutboxWorker<PendingReport>({ ...workerOptions(watching, peer.deliver, { concurrency: 2, claimSize: 4 }), idlePollMs: 20 })
    const lookedOnce = once(claims, 'claimed')
    w.start()
    await lookedOnce
    await addReports('later', 2)
    for (const reference of await peer.arrivals(2)) peer.answer(reference)
    await until(w, 'settled', async () => !((await statesOf(store)).done < 2))
    await w.stop()
    t.same(await statesOf(store), only({ done: 2 }))
  })

  t.test(`${adapter}: a slow request does not hold up the others: each request is settled when its own answer comes`, async (t) => {
    const store = await storeWithReports(t, 6)
    const peer = handPeer()
    const w = worker(store, peer.deliver, { concurrency: 3, claimSize: 6 })
    w.start()
    const [slow, second, third] = await peer.arrivals(3)
    t.equal(w.inFlightCount, 3, 'never more requests in flight than the concurrency')

    // The first answer never comes for now; the other two and the three after them finish.
    peer.answer(second!)
    peer.answer(third!)
    const later = (await peer.arrivals(5)).slice(3)
    for (const reference of later) peer.answer(reference)
    const sixth = (await peer.arrivals(6))[5]!
    peer.answer(sixth)
    await until(w, 'settled', async () => !((await statesOf(store)).done < 5))
    t.same(peer.waiting(), [slow], 'only the slow request is still waiting')
    t.equal((await statesOf(store)).sending, 1, 'five reports done while the slow one is in flight')

    const stopped = w.stop()
    peer.answer(slow!)
    await stopped
    t.same(await statesOf(store), only({ done: 6 }), 'stop() waited for the slow answer and settled it')
  })

  t.test(`${adapter}: stop() hands rows claimed but not yet sent back to the queue at once, not after their lease`, async (t) => {
    const store = await storeWithReports(t, 5)
    const peer = handPeer()
    const w = worker(store, peer.deliver, { concurrency: 2, claimSize: 5 })
    w.start()
    const [a, b] = await peer.arrivals(2)
    t.equal((await statesOf(store)).sending, 5, 'five claimed, two sent')
    const stopped = w.stop()
    peer.answer(a!)
    peer.answer(b!, { kind: 'retry', reason: 'HTTP 503' })
    await stopped
    t.same(await statesOf(store), only({ done: 1, pending: 4 }))
    // The three never sent are due again at once, not at the end of their lease: another process can take them now.
    const claimable = new Set((await store.claimReports(Date.now(), 10, 60_000)).map((r) => r.reference))
    t.equal([...claimable].filter((r) => r !== a && r !== b).length, 3, 'the three never sent are due again now')
    // Why they went back, as an operator reads it: through the store's inspection role.
    t.equal((await store.inspect()).reports.filter((r) => r.lastError === 'released at shutdown').length, 3)
  })

  t.test(`${adapter}: settlements finishing together share one store write, and each kind is settled as asked`, async (t) => {
    const store = await storeWithReports(t, 4)
    const answers: DeliveryResult[] = [{ kind: 'done' }, { kind: 'done' }, { kind: 'park', reason: 'HTTP 400: bad' }, { kind: 'retry', reason: 'HTTP 500', alert: false }]
    let i = 0
    const writes: unknown[] = []
    const counting: Store = { ...store, settleOutbox: async (...args) => { writes.push(args[1]); return store.settleOutbox(...args) } }
    const w = worker(counting, async () => answers[i++]!, { concurrency: 4, claimSize: 4 })
    w.start()
    await until(w, 'settled', async () => !((await statesOf(store)).sending > 0))
    await w.stop()
    t.same(await statesOf(store), only({ done: 2, parked: 1, pending: 1 }))
    t.equal(writes.length, 3, 'one write for the done rows, one per failure reason')
  })

  t.test(`${adapter}: a worker stopped before it had any work, then started again, still delivers and settles`, async (t) => {
    const store = await storeWithReports(t, 3)
    const peer = handPeer()
    const w = worker(store, peer.deliver, { concurrency: 3, claimSize: 3 })
    await w.stop()
    w.start()
    await w.stop()
    w.start()
    for (const reference of await peer.arrivals(3)) peer.answer(reference)
    await until(w, 'settled', async () => !((await statesOf(store)).done < 3))
    await w.stop()
    t.same(await statesOf(store), only({ done: 3 }))
  })

  t.test(`${adapter}: a paused registration holds back its own rows only, is probed one request at a time, and resumes`, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    let now = Date.now()
    for (const registrationId of ['refused', 'fine']) {
      await store.acceptCampaign({ registrationId, idempotencyKey: registrationId, batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: now, receivedAt: now }, unusable(4))
    }
    const sent: string[] = []
    let refuse = true
    const w = new OutboxWorker<PendingReport>({
      outbox: 'reports',
      store,
      clock: { now: () => now },
      logger: createLogger('silent'),
      claim: (at, limit, leaseMs, maxBytes, excluded) => store.claimReports(at, limit, leaseMs, maxBytes, excluded),
      deliver: async ([report]) => {
        sent.push(report!.registrationId)
        return report!.registrationId === 'refused' && refuse ? { kind: 'pause', reason: 'HTTP 401: Unauthorized', alert: true } : { kind: 'done' }
      },
      perRequest: 1,
      concurrency: 1,
      claimSize: 8,
      leaseMs: 60_000,
      backoff: { baseMs: 1, capMs: 5 },
      idlePollMs: 600_000,
      pauseProbeMs: 300_000
    })
    w.start()
    await until(w, 'settled', async () => !((await statesOf(store)).done < 4 || (await statesOf(store)).sending > 0))
    t.equal(sent.filter((r) => r === 'fine').length, 4, 'the other registration\'s rows went')
    t.equal(sent.filter((r) => r === 'refused').length, 1, 'one refusal paused the registration: its other rows were not sent into it')
    t.same(await statesOf(store), only({ done: 4, pending: 4 }), 'its rows wait, none parked')
    t.same(await store.claimReports(now + 299_999, 10, 60_000), [], 'due when the probe comes, not before')
    t.match(w.pausedRegistrations(), [{ registration: 'refused', state: 'paused' }])

    // At the probe time, one probe, refused again.
    now += 300_001
    w.wake()
    while (sent.filter((r) => r === 'refused').length < 2) await new Promise((resolve) => setImmediate(resolve))
    await until(w, 'settled', async () => !((await statesOf(store)).sending > 0))
    t.equal(sent.filter((r) => r === 'refused').length, 2, 'one probe, still refused: paused again')

    // The peer takes the credentials again: the next probe goes through and the rest follow.
    refuse = false
    now += 300_001
    w.wake()
    await until(w, 'settled', async () => !((await statesOf(store)).done < 8))
    await w.stop()
    t.equal(sent.filter((r) => r === 'refused').length, 6, 'two refused probes, then each of the four rows once')
    t.same(w.pausedRegistrations(), [], 'resumed')
  })
}
