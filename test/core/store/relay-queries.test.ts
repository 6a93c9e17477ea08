import t, { type Test } from 'tap'
import { Worker } from 'node:worker_threads'
import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import type { NewBatch, NewMessage, Store } from '../../../src/core/store/store.js'
import { readDatabase, type StoredMessage } from './sqlite-rows.js'

// Contract tests of the relay side of the store (leases, submissions, retries, failures)
// on a real SQLite file. Every time is an explicit `now`: nothing here reads the wall clock.

type Row = StoredMessage & { id: number; attempts: number; lease_until: number | null; provider_message_id: string | null }

function batch (key: string, overrides: Partial<NewBatch> = {}): NewBatch {
  return { registrationId: 'tenant-a', idempotencyKey: key, batchId: `batch-${key}`, requestId: `request-${key}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900, ...overrides }
}

function messages (n: number, label: string, failing: number[] = []): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    mobileNumber: `4520${String(i).padStart(6, '0')}`,
    customerId: `${label}-customer-${i}`,
    text: `${label} text ${i}`,
    ...(failing.includes(i) ? { failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } } : {})
  }))
}

function open (t: Test): { store: Store; path: string; rows: () => Row[] } {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  return { store, path, rows: () => readDatabase(path).messages as Row[] }
}

t.test('claimDue: only due queued messages, earliest first, at most `limit`, with their batch facts', async (t) => {
  const { store, rows } = open(t)
  // Stored out of time order, so that the earliest are not simply the lowest ids.
  await store.acceptCampaign(batch('late', { scheduledAt: 3000, senderId: 'LateCo' }), messages(2, 'late'))
  await store.acceptCampaign(batch('mid', { scheduledAt: 2000, senderId: 'MidCo', registrationId: 'tenant-b' }), messages(2, 'mid'))
  await store.acceptCampaign(batch('early', { scheduledAt: 1000, senderId: 'EarlyCo' }), messages(2, 'early'))
  await store.acceptCampaign(batch('future', { scheduledAt: 9000 }), messages(1, 'future'))
  // Failed at intake and due long ago: never claimed, it is not queued.
  await store.acceptCampaign(batch('rejected', { scheduledAt: 500 }), messages(1, 'rejected', [0]))
  const byText = new Map(rows().map((r) => [r.body, r]))

  const lease = 100_000 // longer than this test's times: no claim expires here
  const first = await store.claimDue(2500, 3, lease)
  t.equal(first.length, 3, 'no more than the limit')
  const early = first.filter((m) => m.senderId === 'EarlyCo')
  const mid = first.filter((m) => m.senderId === 'MidCo')
  t.equal(early.length, 2, 'both of the earliest batch')
  t.equal(mid.length, 1, 'then one of the next earliest; the later batch waits')
  for (const m of first) {
    const row = byText.get(m.text)!
    t.same(m, {
      id: String(row.id),
      reference: row.reference,
      registrationId: m.senderId === 'MidCo' ? 'tenant-b' : 'tenant-a',
      senderId: m.senderId,
      msisdn: row.mobile_number,
      text: row.body,
      attempts: 1,
      dueSince: m.senderId === 'MidCo' ? 2000 : 1000
    }, `${m.text}: fields from its row and its batch`)
  }

  const second = await store.claimDue(2500, 10, lease)
  t.same(second.map((m) => [m.senderId, m.dueSince, m.attempts]), [['MidCo', 2000, 1]], 'only the other due message is left at 2500')
  t.same(await store.claimDue(2999, 10, lease), [], 'the 3000 batch is not due a millisecond early')

  const third = await store.claimDue(3000, 10, lease)
  t.same(third.map((m) => m.text).sort(), ['late text 0', 'late text 1'], 'due exactly at its time')
  t.ok(third.every((m) => m.senderId === 'LateCo' && m.dueSince === 3000 && m.attempts === 1))

  t.same(await store.claimDue(8999, 10, lease), [], 'the future message is not returned before its time')
  const claimedRows = rows().filter((r) => r.state === 'sending')
  t.equal(claimedRows.length, 6)
  t.same(rows().filter((r) => r.state !== 'sending').map((r) => [r.body, r.state, r.attempts]), [['future text 0', 'queued', 0], ['rejected text 0', 'failed', 0]])
  t.equal(rows().find((r) => r.body === 'early text 0')!.lease_until, 2500 + lease, 'leased until now + leaseMs')
})

t.test('a lease hides a claimed message until it ends; then it comes back with one more attempt', async (t) => {
  const { store, rows } = open(t)
  await store.acceptCampaign(batch('k'), messages(1, 'm'))
  const [claimed] = await store.claimDue(1000, 10, 500)
  t.equal(claimed!.attempts, 1)
  t.same(await store.claimDue(1000, 10, 500), [], 'not twice at the same instant')
  t.same(await store.claimDue(1499, 10, 500), [], 'not while the lease runs')

  // The claiming process died: at the lease's end the message is due again.
  const [again] = await store.claimDue(1500, 10, 500)
  t.same(again, { ...claimed!, attempts: 2 }, 'the same message, attempt 2')
  t.same(await store.claimDue(1999, 10, 500), [], 'the new claim has its own lease')
  t.equal((await store.claimDue(2000, 10, 500))[0]!.attempts, 3)
  t.same(rows().map((r) => [r.state, r.attempts, r.lease_until]), [['sending', 3, 2500]])
})

t.test('markSubmitted stores the provider id; a submitted message is never claimed again', async (t) => {
  const { store, rows } = open(t)
  await store.acceptCampaign(batch('k'), messages(3, 'm'))
  const claimed = await store.claimDue(1000, 2, 100)
  const [a, b] = claimed.sort((x, y) => Number(x.id) - Number(y.id))
  await store.markSubmitted([{ id: a!.id, attempt: 1, providerMessageId: '01HXPROVIDER0000000000001' }, { id: b!.id, attempt: 1, providerMessageId: null }], 1050)
  t.same(rows().map((r) => [r.state, r.provider_message_id, r.lease_until]), [
    ['submitted', '01HXPROVIDER0000000000001', null],
    ['submitted', null, null],
    ['queued', null, null]
  ])
  // Long after the lease would have ended: only the third message is ever claimed.
  const [c] = await store.claimDue(10_000_000, 10, 100)
  t.equal(c!.text, 'm text 2', 'only the queued one is claimed')
  await store.markSubmitted([{ id: c!.id, attempt: c!.attempts, providerMessageId: 'p3' }], 10_000_050)
  t.same(await store.claimDue(20_000_000, 10, 100), [], 'nothing else: submitted messages stay submitted')
  t.same((await store.stats()).messages, { queued: 0, sending: 0, submitted: 3, final: 0, failed: 0 })
})

t.test('reschedule puts messages back at their own times; refundAttempt takes the attempt back', async (t) => {
  const { store, rows } = open(t)
  await store.acceptCampaign(batch('k'), messages(2, 'm'))
  const [a, b] = (await store.claimDue(1000, 10, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
  await store.reschedule([{ id: a!.id, attempt: 1, at: 5000 }, { id: b!.id, attempt: 1, at: 3000 }], 'HTTP 500: boom', 1100)
  t.same(rows().map((r) => [r.state, r.next_attempt_at, r.lease_until, r.attempts, r.last_error]), [
    ['queued', 5000, null, 1, 'HTTP 500: boom'],
    ['queued', 3000, null, 1, 'HTTP 500: boom']
  ], 'queued at its own time, the attempt counted')

  t.same(await store.claimDue(2999, 10, 60_000), [], 'the lease is gone but neither is due yet')
  t.same((await store.claimDue(3000, 10, 60_000)).map((m) => [m.id, m.attempts]), [[b!.id, 2]])
  t.same((await store.claimDue(5000, 10, 60_000)).map((m) => [m.id, m.attempts]), [[a!.id, 2]])

  // Both at attempt 2 now; a refunded reschedule takes exactly this claim's attempt back.
  await store.reschedule([{ id: a!.id, attempt: 2, at: 6000 }], 'throttled (HTTP 429)', 5010, { refundAttempt: true })
  await store.reschedule([{ id: b!.id, attempt: 2, at: 6000 }], 'HTTP 502', 5010, { refundAttempt: false })
  t.same(rows().map((r) => [r.state, r.attempts, r.last_error]), [['queued', 1, 'throttled (HTTP 429)'], ['queued', 2, 'HTTP 502']])
  t.same((await store.claimDue(6000, 10, 60_000)).map((m) => [m.id, m.attempts]).sort(), [[a!.id, 2], [b!.id, 3]])
})

t.test('fail ends messages with outcome and reason and queues exactly one report each', async (t) => {
  const { store, path, rows } = open(t)
  await store.acceptCampaign(batch('k', { registrationId: 'tenant-z' }), messages(3, 'm'))
  const [a, b] = (await store.claimDue(1000, 2, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
  const queued = String(rows()[2]!.id)
  await store.fail([
    { id: a!.id, outcome: 'send-timeout', reason: 'gave up after 5 attempts: HTTP 502' },
    { id: b!.id, outcome: 'provider-rejected', reason: 'refused by the provider: invalid MSISDN' },
    { id: queued, outcome: 'send-timeout', reason: 'too old' }
  ], 2000)
  t.same(rows().map((r) => [r.state, r.final_outcome, r.last_error, r.lease_until]), [
    ['failed', 'send-timeout', 'gave up after 5 attempts: HTTP 502', null],
    ['failed', 'provider-rejected', 'refused by the provider: invalid MSISDN', null],
    ['failed', 'send-timeout', 'too old', null]
  ], 'leased and queued messages alike')
  const reports = () => readDatabase(path).reports.map((r) => [String(r.message_id), r.registration_id, r.outcome, r.error_details, r.state, r.status_at])
  const expected = [
    [a!.id, 'tenant-z', 'send-timeout', 'gave up after 5 attempts: HTTP 502', 'pending', 2000],
    [b!.id, 'tenant-z', 'provider-rejected', 'refused by the provider: invalid MSISDN', 'pending', 2000],
    [queued, 'tenant-z', 'send-timeout', 'too old', 'pending', 2000]
  ]
  t.same(reports(), expected, 'one pending report per message, for its registration')

  // Failing again (a late duplicate decision) changes nothing and reports nothing twice.
  await store.fail([{ id: a!.id, outcome: 'provider-rejected', reason: 'second opinion' }], 3000)
  t.same(reports(), expected, 'no second report')
  t.same(rows()[0]!.final_outcome, 'send-timeout', 'the first outcome stands')
  t.same(rows()[0]!.last_error, 'gave up after 5 attempts: HTTP 502')
  t.same(await store.claimDue(100_000_000, 10, 100), [], 'a failed message is never claimed')
  t.equal((await store.stats()).reports.pending, 3)
})

t.test('settlements are fenced by their claim: a late answer to a claim whose lease ran out changes nothing', async (t) => {
  const { store } = open(t)
  await store.acceptCampaign(batch('k'), messages(1, 'm'))
  const [stale] = await store.claimDue(1000, 10, 100)
  // The first claim's request outlives its lease; the message is claimed again.
  const [current] = await store.claimDue(1200, 10, 100)
  t.equal(current!.id, stale!.id)
  t.same([stale!.attempts, current!.attempts], [1, 2], 'two claims, told apart by their attempt numbers')

  // The first claim's answers arrive late: none of them touches the newer claim.
  await store.markSubmitted([{ id: stale!.id, attempt: stale!.attempts, providerMessageId: 'stale' }], 1210)
  await store.reschedule([{ id: stale!.id, attempt: stale!.attempts, at: 1220 }], 'HTTP 500', 1210, { refundAttempt: true })
  await store.fail([{ id: stale!.id, attempt: stale!.attempts, outcome: 'provider-rejected', reason: 'late refusal' }], 1210)
  t.match(await store.stats(), { messages: { sending: 1, submitted: 0, queued: 0, failed: 0 }, reports: { pending: 0 } }, 'still sending under the newer claim, no report')
  t.same(await store.claimDue(1250, 10, 100), [], 'not handed out again before the newer lease ends')

  // The newer claim settles as usual.
  await store.markSubmitted([{ id: current!.id, attempt: current!.attempts, providerMessageId: 'P2' }], 1260)
  t.match(await store.stats(), { messages: { sending: 0, submitted: 1 } })
  await store.fail([{ id: current!.id, attempt: current!.attempts, outcome: 'provider-rejected', reason: 'too late' }], 1270)
  t.match(await store.stats(), { messages: { submitted: 1, failed: 0 }, reports: { pending: 0 } }, 'a submitted message is not failed by a settlement of its claim either')
})

t.test('nextDueAt: the earliest queued time or lease end; undefined when nothing waits', async (t) => {
  const { store } = open(t)
  t.equal(await store.nextDueAt(), undefined, 'empty store')
  // Failed at intake: nothing waits for it.
  await store.acceptCampaign(batch('rejected', { scheduledAt: 100 }), messages(1, 'r', [0]))
  t.equal(await store.nextDueAt(), undefined, 'failed messages do not wait')
  await store.acceptCampaign(batch('b5000', { scheduledAt: 5000 }), messages(1, 'b5000'))
  await store.acceptCampaign(batch('b3000', { scheduledAt: 3000 }), messages(1, 'b3000'))
  t.equal(await store.nextDueAt(), 3000)

  const [first] = await store.claimDue(3000, 10, 10_000)
  t.equal(await store.nextDueAt(), 5000, 'the queued message; the lease ends at 13000')
  const [second] = await store.claimDue(5000, 10, 1000)
  t.equal(await store.nextDueAt(), 6000, 'a lease counts: a crashed claim comes back at its end')

  await store.markSubmitted([{ id: second!.id, attempt: second!.attempts, providerMessageId: 'x' }], 5100)
  t.equal(await store.nextDueAt(), 13000)
  await store.reschedule([{ id: first!.id, attempt: first!.attempts, at: 4000 }], 'HTTP 500', 3100)
  t.equal(await store.nextDueAt(), 4000, 'a rescheduled message waits for its own time')
  await store.fail([{ id: first!.id, outcome: 'send-timeout', reason: 'gave up' }], 4100)
  t.equal(await store.nextDueAt(), undefined, 'nothing left waiting')
})

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
  t.ok(readDatabase(path).messages.every((m) => m.state === 'sending' && (m as Row).attempts === 1), 'each claimed once')
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
  t.ok(readDatabase(path).messages.every((m) => m.state === 'sending' && (m as Row).attempts === 1), 'each claimed once')
})
