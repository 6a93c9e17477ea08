import t, { type Test } from 'tap'
import { EventEmitter, once } from 'node:events'
import { OutboxWorker, type DeliveryResult, type OutboxWorkerOptions } from '../../src/core/outbox-worker.js'
import type { PendingIncoming, PendingReport, Store } from '../../src/core/store/store.js'
import type { Settled } from '../../src/core/work-loop.js'
import { createLogger } from '../../src/logger.js'
import { openMemoryStore } from '../fakes/memory-store.js'
import { logCapture, until } from '../helper.js'

// What the outbox worker decides for each answer (when a row is due again, what is held back,
// what goes together), on the in-memory store with a clock the test moves by hand.

const unusable = (n: number) => Array.from({ length: n }, (_, i) => ({
  mobileNumber: `bad-${i}`, customerId: `c${i}`, text: 't', failure: { outcome: 'invalid-recipient' as const, reason: 'unusable number' }
}))

interface Setup {
  store: Store
  clock: { now: () => number; at: number }
  settlements: Settled[]
  start: (options: Partial<OutboxWorkerOptions<PendingReport>> & Pick<OutboxWorkerOptions<PendingReport>, 'deliver'>) => OutboxWorker<PendingReport>
}

async function setup (t: Test, reports: Record<string, number> = { r: 1 }): Promise<Setup> {
  const store = openMemoryStore()
  t.teardown(() => store.close())
  const clock = { at: 1_000_000, now: () => clock.at }
  for (const [registrationId, n] of Object.entries(reports)) {
    await store.acceptCampaign({ registrationId, idempotencyKey: registrationId, batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: clock.at, receivedAt: clock.at }, unusable(n))
  }
  const settlements: Settled[] = []
  return {
    store,
    clock,
    settlements,
    start: (options) => {
      const worker = new OutboxWorker<PendingReport>({
        outbox: 'reports',
        store,
        clock,
        logger: createLogger('silent'),
        claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimReports(now, limit, leaseMs, maxBytes, excluded),
        perRequest: 1,
        concurrency: 4,
        claimSize: 8,
        leaseMs: 60_000,
        backoff: { baseMs: 1000, capMs: 60_000 },
        idlePollMs: 600_000,
        random: () => 0.5,
        ...options
      })
      worker.on('settled', (s) => settlements.push(s))
      worker.start()
      t.teardown(() => worker.stop())
      return worker
    }
  }
}

/** Waits until the store has no row leased. */
async function settledAll (store: Store, worker: OutboxWorker<PendingReport>): Promise<void> {
  await until(worker, 'settled', async () => !((await store.stats()).reports.sending > 0))
}

/** Whether any row is due at `at` (claimed and at once handed back, so that nothing changes). */
async function dueAt (store: Store, at: number): Promise<number> {
  const rows = await store.claimReports(at, 100, 1)
  await store.settleOutbox('reports', { retry: rows.map((r) => ({ id: r.id, at })) }, at)
  return rows.length
}

t.test('a retried row is due again after its full-jitter backoff, counted from its attempts', async (t) => {
  const { store, clock, start } = await setup(t)
  const worker = start({ deliver: async () => ({ kind: 'retry', reason: 'HTTP 500' }) })
  await settledAll(store, worker)
  await worker.stop()
  // First attempt: ceiling min(60 s, 1 s × 2^0) = 1 s, half of it with random() = 0.5.
  t.equal(await dueAt(store, clock.at + 499), 0, 'not before its backoff')
  t.equal(await dueAt(store, clock.at + 500), 1, 'due after 500 ms')
})

t.test('a peer that throws is a retry, with the error as its reason', async (t) => {
  const { store, start, settlements } = await setup(t)
  const { logger, lines } = capturedLog()
  const worker = start({ logger, deliver: async () => { throw new Error('socket hang up') } })
  await settledAll(store, worker)
  t.same(settlements, [{ outcome: 'retry', rows: 1 }])
  t.match(lines().filter((l) => l.level >= LEVEL.warn), [{ msg: 'delivery failed; retrying with backoff', reason: 'socket hang up', rows: 1 }])
})

t.test('a pause asked for with a Retry-After holds the registration\'s rows that long, capped at the longest pause', async (t) => {
  for (const [asked, held] of [[2000, 2000], [7_200_000, 3_600_000]]) {
    const { store, clock, start } = await setup(t)
    const worker = start({ deliver: async () => ({ kind: 'pause', reason: 'HTTP 429', retryAfterMs: asked, alert: false }) })
    await settledAll(store, worker)
    t.match(worker.pausedRegistrations(), [{ registration: 'r', state: 'paused', until: clock.at + held!, reason: 'HTTP 429' }])
    await worker.stop()
    t.equal(await dueAt(store, clock.at + held! - 1), 0, `asked ${asked} ms: not before ${held} ms`)
    t.equal(await dueAt(store, clock.at + held!), 1, `asked ${asked} ms: due after ${held} ms`)
  }
})

t.test('refused credentials hold the registration\'s rows until the probe, five minutes by default', async (t) => {
  const { store, clock, start } = await setup(t)
  const worker = start({ deliver: async () => ({ kind: 'pause', reason: 'HTTP 401', alert: true }) })
  await settledAll(store, worker)
  await worker.stop()
  t.equal(await dueAt(store, clock.at + 299_999), 0)
  t.equal(await dueAt(store, clock.at + 300_000), 1)
})

t.test('a pause of one registration holds back neither the rows of another nor more of its own', async (t) => {
  const { store, start } = await setup(t, { slow: 3, other: 3 })
  const sent: string[] = []
  const worker = start({
    concurrency: 1,
    deliver: async ([report]) => {
      sent.push(report!.registrationId)
      return report!.registrationId === 'slow' ? { kind: 'pause', reason: 'HTTP 429', retryAfterMs: 60_000, alert: false } : { kind: 'done' }
    }
  })
  await until(worker, 'settled', async () => !((await store.stats()).reports.done < 3))
  await settledAll(store, worker)
  t.equal(sent.filter((r) => r === 'slow').length, 1, 'one request of the paused registration')
  t.same((await store.stats()).reports, { pending: 3, sending: 0, done: 3, parked: 0 })
})

t.test('replies go in requests of at most `perRequest`, each of one registration', async (t) => {
  const store = openMemoryStore()
  t.teardown(() => store.close())
  for (let i = 0; i < 5; i++) {
    await store.recordWebhookEvent({ kind: 'inbound', eventId: `m${i}`, eventType: 'user-message.text.sms', receivedAt: 1000, from: '4510000000', text: `reply ${i}`, sentAt: 1000, routes: [{ registrationId: i % 2 === 0 ? 'even' : 'odd', to: 'Brand' }] })
  }
  const requests: string[][] = []
  const worker = new OutboxWorker<PendingIncoming>({
    outbox: 'incoming',
    store,
    clock: { now: () => 2000 },
    logger: createLogger('silent'),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimIncoming(now, limit, leaseMs, maxBytes, excluded),
    deliver: async (items) => {
      requests.push(items.map((i) => `${i.registrationId}:${i.text}`))
      return { kind: 'done' }
    },
    perRequest: 2,
    concurrency: 4,
    claimSize: 10,
    leaseMs: 60_000,
    backoff: { baseMs: 1, capMs: 5 },
    idlePollMs: 600_000
  })
  worker.start()
  t.teardown(() => worker.stop())
  await until(worker, 'settled', async () => !((await store.stats()).incoming.done < 5))
  t.same(requests.sort(), [['even:reply 0', 'even:reply 2'], ['even:reply 4'], ['odd:reply 1', 'odd:reply 3']])
})

t.test('a claim that fails is tried again after the idle poll', async (t) => {
  const { store, start } = await setup(t)
  let failures = 0
  const delivered: string[] = []
  const worker = start({
    idlePollMs: 20,
    claim: async (now, limit, leaseMs, maxBytes, excluded) => {
      if (failures++ === 0) throw new Error('database is locked')
      return store.claimReports(now, limit, leaseMs, maxBytes, excluded)
    },
    deliver: async ([report]) => {
      delivered.push(report!.id)
      return { kind: 'done' }
    }
  })
  while (delivered.length === 0) await once(worker, 'settled')
  t.ok(failures >= 2, 'claimed again after the failure')
  t.equal(delivered.length, 1)
})

/** A logger whose lines the test reads: level (pino's number) and message. */
function capturedLog () {
  const log = logCapture()
  return { logger: createLogger('debug', log.stream), lines: () => log.lines().map((l) => JSON.parse(l) as { level: number; msg: string; [field: string]: unknown }) }
}
const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 }

t.test('one log line when a registration\'s pause begins, at error for refused credentials, at warn when asked to slow down; one when it resumes', async (t) => {
  for (const [alert, level] of [[true, LEVEL.error], [false, LEVEL.warn]] as const) {
    const { store, clock, start } = await setup(t, { r: 3 })
    const { logger, lines } = capturedLog()
    let refuse = true
    const worker = start({
      logger,
      concurrency: 3,
      deliver: async () => refuse ? { kind: 'pause', reason: 'HTTP 401', alert, ...(alert ? {} : { retryAfterMs: 1000 }) } : { kind: 'done' }
    })
    await settledAll(store, worker)
    const pauses = lines().filter((l) => l.level >= LEVEL.warn)
    t.equal(pauses.length, 1, `alert ${alert}: one line for three refused rows`)
    t.equal(pauses[0]?.level, level)
    refuse = false
    clock.at += 300_000
    worker.wake()
    await until(worker, 'settled', async () => !((await store.stats()).reports.done < 3))
    t.equal(lines().filter((l) => l.level === LEVEL.info && /resumed/.test(l.msg)).length, 1, `alert ${alert}: one line when it resumes`)
  }
})

t.test('a settlement is logged by what it was: parked at error, retried at warn (error when an operator must act), handed back at debug', async (t) => {
  const answers: DeliveryResult[] = [{ kind: 'park', reason: 'HTTP 400' }, { kind: 'retry', reason: 'HTTP 302', alert: true }, { kind: 'retry', reason: 'HTTP 500' }]
  const { store, start } = await setup(t, { r: 3 })
  const { logger, lines } = capturedLog()
  let i = 0
  const worker = start({ logger, concurrency: 1, claimSize: 1, deliver: async () => answers[i++]! })
  await until(worker, 'settled', async () => !(i < 3 || (await store.stats()).reports.sending > 0))
  await worker.stop()
  const byReason = (reason: string) => lines().filter((l) => (l as { reason?: string }).reason === reason).map((l) => l.level)
  t.same(byReason('HTTP 400'), [LEVEL.error], 'parked')
  t.same(byReason('HTTP 302'), [LEVEL.error], 'retried, an operator must act')
  t.same(byReason('HTTP 500'), [LEVEL.warn], 'retried')
})

t.test('a longer pause is never shortened by a shorter one: the registration and its rows wait for the longer', async (t) => {
  const { store, clock, start } = await setup(t, { r: 2 })
  const asked = [60_000, 1000]
  let i = 0
  const worker = start({ concurrency: 2, deliver: async () => ({ kind: 'pause', reason: 'HTTP 429', retryAfterMs: asked[i++] ?? 1000, alert: false }) })
  await settledAll(store, worker)
  t.match(worker.pausedRegistrations(), [{ registration: 'r', state: 'paused', until: clock.at + 60_000 }], 'the longer of the two')
  await worker.stop()
  t.equal(await dueAt(store, clock.at + 59_999), 0)
})

t.test('rows claimed longer ago than half their lease go back unsent (exactly half is still in time), due again at once', async (t) => {
  for (const [waitedMs, sentCount] of [[5000, 3], [5001, 1]] as const) {
    const { store, clock, start } = await setup(t, { r: 3 })
    let release: () => void = () => undefined
    const sent: string[] = []
    const worker = start({
      concurrency: 1,
      leaseMs: 10_000,
      deliver: async ([report]) => {
        sent.push(report!.id)
        if (sent.length === 1) await new Promise<void>((resolve) => { release = resolve })
        return { kind: 'done' }
      }
    })
    while (sent.length < 1) await new Promise((resolve) => setImmediate(resolve))
    clock.at += waitedMs
    release()
    await settledAll(store, worker)
    await worker.stop()
    t.equal(sent.length, sentCount, `${waitedMs} ms after the claim of a 10 s lease`)
    if (sentCount === 1) {
      t.same((await store.stats()).reports, { pending: 2, sending: 0, done: 1, parked: 0 }, 'the two rows waiting behind the slow request were not sent late')
      t.same((await store.inspect()).reports.map((r) => r.lastError), [null, 'claimed too long ago to be sent inside its lease', 'claimed too long ago to be sent inside its lease'])
      t.equal(await dueAt(store, clock.at), 2, 'they are due again at once')
    }
  }
})

t.test('claimLimitBytes bounds each claim; without it, a claim takes claimSize rows', async (t) => {
  for (const [limit, perClaim] of [[1, [1, 1, 1]], [undefined, [3]]] as const) {
    const { store, start } = await setup(t, { r: 3 })
    const claimed: number[] = []
    const worker = start({
      claimSize: 8,
      ...(limit === undefined ? {} : { claimLimitBytes: limit }),
      claim: async (now, n, leaseMs, maxBytes, excluded) => {
        const rows = await store.claimReports(now, n, leaseMs, maxBytes, excluded)
        if (rows.length > 0) claimed.push(rows.length)
        return rows
      },
      deliver: async () => ({ kind: 'done' })
    })
    await until(worker, 'settled', async () => !((await store.stats()).reports.done < 3))
    t.same(claimed, perClaim, `claimLimitBytes ${String(limit)}: rows per claim`)
  }
})

t.test('the settled events: each outcome with its rows', async (t) => {
  const { store, start, settlements } = await setup(t, { r: 3 })
  let n = 0
  const worker = start({ concurrency: 3, deliver: async () => ++n === 1 ? { kind: 'park', reason: 'HTTP 400' } : { kind: 'done' } })
  await settledAll(store, worker)
  t.same(settlements.sort((a, b) => a.outcome.localeCompare(b.outcome)), [{ outcome: 'done', rows: 2 }, { outcome: 'parked', rows: 1 }])
})

t.test('answers are written a claim\'s worth at a time: with claims of two, four answers at once make two writes of two', async (t) => {
  const { store, start } = await setup(t, { r: 4 })
  const writes: number[] = []
  const counting: Store = { ...store, settleOutbox: async (outbox, s, now) => { writes.push((s.done ?? []).length); return store.settleOutbox(outbox, s, now) } }
  const worker = start({ store: counting, concurrency: 4, claimSize: 2, deliver: async () => ({ kind: 'done' }) })
  await settledAll(store, worker)
  t.same(writes, [2, 2])
})

t.test('one settlement write at a time: answers that come while one is being written wait for it, then go in the next', async (t) => {
  const { store, start } = await setup(t, { r: 4 })
  let writing = 0
  let most = 0
  let unblock!: () => void
  const firstWrite = new Promise<void>((resolve) => { unblock = resolve })
  const writes: number[] = []
  const slow: Store = {
    ...store,
    settleOutbox: async (outbox, s, now) => {
      most = Math.max(most, ++writing)
      writes.push((s.done ?? []).length)
      if (writes.length === 1) await firstWrite
      try {
        return await store.settleOutbox(outbox, s, now)
      } finally {
        writing--
      }
    }
  }
  const delivered: string[] = []
  const deliveries = new EventEmitter()
  const worker = start({ store: slow, concurrency: 4, claimSize: 2, deliver: async ([r]) => { delivered.push(r!.id); deliveries.emit('delivered'); return { kind: 'done' } } })
  // Two claims' worth answered while the first write still waits.
  while (delivered.length < 4) await once(deliveries, 'delivered')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(writes.length, 1, 'the second claim\'s answers wait for the first write')
  unblock()
  await settledAll(store, worker)
  t.equal(most, 1, 'never two writes at once')
  t.same(writes, [2, 2])
})

t.test('a settlement the store refuses is logged; its rows stay leased (to come back after the lease), no settled event', async (t) => {
  const { store, start, settlements } = await setup(t, { r: 1 })
  const { logger, lines } = capturedLog()
  const failing: Store = { ...store, settleOutbox: async () => { throw new Error('SQLITE_IOERR') } }
  const worker = start({ store: failing, logger, deliver: async () => ({ kind: 'done' }) })
  while (!lines().some((l) => l.msg.startsWith('settling outbox rows failed'))) await new Promise((resolve) => setImmediate(resolve))
  await worker.stop()
  t.match(lines().filter((l) => l.level === LEVEL.error), [{ msg: 'settling outbox rows failed; they will be retried after their lease', outbox: 'reports', err: { message: 'SQLITE_IOERR' } }])
  t.same(settlements, [])
  t.equal((await store.stats()).reports.sending, 1)
})

t.test('a probe answered with a retry keeps the registration probing (one request at a time); only a success resumes it', async (t) => {
  const { store, clock, start } = await setup(t, { r: 3 })
  let answer: DeliveryResult = { kind: 'pause', reason: 'HTTP 429', retryAfterMs: 1000, alert: false }
  const worker = start({ concurrency: 3, deliver: async () => answer })
  await settledAll(store, worker)
  clock.at += 1000
  answer = { kind: 'retry', reason: 'HTTP 500' }
  worker.wake()
  await once(worker, 'settled')
  t.match(worker.pausedRegistrations(), [{ registration: 'r', state: 'probing' }], 'the probe failed: still probing')
  await worker.stop()
})

t.test('the line when a registration\'s pause begins names the outbox, the registration and the reason', async (t) => {
  const { store, start } = await setup(t, { r: 1 })
  const { logger, lines } = capturedLog()
  const worker = start({ logger, deliver: async () => ({ kind: 'pause', reason: 'HTTP 401', alert: true }) })
  await settledAll(store, worker)
  t.match(lines().filter((l) => l.level === LEVEL.error), [{ outbox: 'reports', registration: 'r', reason: 'HTTP 401' }])
})

t.test('rows of a paused registration waiting in a claim go back with the pause as their reason', async (t) => {
  const { store, start } = await setup(t, { r: 3 })
  const worker = start({ concurrency: 1, claimSize: 3, deliver: async () => ({ kind: 'pause', reason: 'HTTP 429', retryAfterMs: 60_000, alert: false }) })
  await settledAll(store, worker)
  t.same((await store.inspect()).reports.map((r) => r.lastError), ['HTTP 429', 'registration paused', 'registration paused'])
})

t.test('the worker says when it sleeps: with nothing left due, for the idle poll', async (t) => {
  const { store, clock, start } = await setup(t)
  const worker = start({ deliver: async () => ({ kind: 'done' }) })
  const sleeps: Array<number | null> = []
  worker.on('sleeping', (at) => sleeps.push(at))
  await settledAll(store, worker)
  await until(worker, 'sleeping', async () => sleeps.length > 0 && (await store.stats()).reports.pending === 0)
  t.equal(sleeps.at(-1), clock.at + 600_000)
})
