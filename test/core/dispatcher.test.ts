import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Dispatcher, type DispatcherOptions } from '../../src/core/dispatcher.js'
import type { MessageSender } from '../../src/core/message-sender.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import type { NewBatch, Store } from '../../src/core/store/store.js'
import { createGatewayApiClient } from '../../src/gatewayapi/send-client.js'
import type { Clock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/logger.js'
import { SimGatewayApi } from '../../src/sim/gatewayapi.js'
import { logCapture, readDatabase, until, type StoredMessage } from '../helper.js'

// The Dispatcher against a real SQLite store and the real GatewayAPI client talking to the
// simulated GatewayAPI over loopback. Outcomes are awaited through events, never by sleeping.

const TOKEN = 'secret-gatewayapi-token-4'
const systemTime: Clock = { now: () => Date.now() }

type Row = StoredMessage & { id: number; attempts: number; provider_message_id: string | null }

/** Counts the requests the simulator's HTTP server is working on right now, and the most ever. */
function trackRequests (sim: SimGatewayApi) {
  const server = sim['server']!.server
  const seen = { inFlight: 0, max: 0, total: 0 }
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    seen.total++
    seen.inFlight++
    seen.max = Math.max(seen.max, seen.inFlight)
    res.once('close', () => { seen.inFlight-- })
  })
  return { seen, server }
}

async function startSim (t: Test): Promise<SimGatewayApi> {
  const sim = await new SimGatewayApi({ token: TOKEN }).start()
  t.teardown(() => sim.close())
  return sim
}

function openStore (t: Test, path: string): Store {
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  return store
}

function createSender (t: Test, sim: SimGatewayApi): MessageSender {
  // More connections than any dispatcher here uses: the bound on requests must come from the dispatcher.
  const sender = createGatewayApiClient({ baseUrl: sim.url, token: TOKEN, connections: 16, connectTimeoutMs: 2000, requestTimeoutMs: 10_000 })
  t.teardown(() => sender.close())
  return sender
}

function createDispatcher (t: Test, options: Pick<DispatcherOptions, 'store' | 'sender'> & Partial<DispatcherOptions>): Dispatcher {
  const dispatcher = new Dispatcher({
    clock: systemTime,
    logger: createLogger('silent'),
    concurrency: 2,
    batchSize: 10,
    leaseMs: 60_000,
    maxAttempts: 5,
    maxAgeMs: 3_600_000,
    backoff: { baseMs: 5, capMs: 50 },
    defaultRetryAfterMs: 1000,
    idlePollMs: 60_000,
    ...options
  })
  // Registered after the store's and sender's teardowns, so it runs before them (teardowns run in reverse).
  t.teardown(() => dispatcher.stop())
  return dispatcher
}

let keys = 0
async function accept (store: Store, n: number, overrides: Partial<NewBatch> = {}): Promise<void> {
  const key = `k${++keys}`
  const now = Date.now()
  await store.acceptCampaign(
    { registrationId: 'tenant-a', idempotencyKey: key, batchId: `batch-${key}`, requestId: `request-${key}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: now, receivedAt: now, ...overrides },
    Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4520000000 + i), customerId: `customer-${i}`, text: `${key} message ${i}` })))
}

const rowsOf = (path: string): Row[] => readDatabase(path).messages as Row[]
const statesOf = (path: string): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const m of rowsOf(path)) counts[m.state] = (counts[m.state] ?? 0) + 1
  return counts
}
const allSubmitted = (path: string, n: number) => () => {
  const rows = rowsOf(path)
  return rows.length === n && rows.every((m) => m.state === 'submitted')
}
/** Lets pending callbacks run (no time passes): anything the dispatcher would do now has been done. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const HOUR_MS = 3_600_000
const YEAR_MS = 365 * 24 * HOUR_MS

/** Collects the TimeoutOverflowWarnings Node emits (a setTimeout beyond 2^31 − 1 ms, which Node fires after 1 ms). */
function overflowWarnings (t: Test): Error[] {
  const seen: Error[] = []
  const listener = (warning: Error): void => { if (warning.name === 'TimeoutOverflowWarning') seen.push(warning) }
  process.on('warning', listener)
  t.teardown(() => { process.off('warning', listener) })
  return seen
}

/** Resolves once the dispatcher has settled a request of this kind. */
async function settledOnce (dispatcher: Dispatcher, kind: string): Promise<void> {
  const kinds: string[] = []
  const record = (k: string): void => { kinds.push(k) }
  dispatcher.on('settled', record)
  try {
    await until(dispatcher, 'settled', () => kinds.includes(kind))
  } finally {
    dispatcher.off('settled', record)
  }
}

t.test('stop() waits for the requests in flight to be settled, then claims nothing; start/stop are idempotent', async (t) => {
  const sim = await startSim(t)
  sim.latencyMs = 200
  const { seen, server } = trackRequests(sim)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 2, batchSize: 10 })
  await accept(store, 100)

  dispatcher.start()
  dispatcher.start()
  await until(server, 'request', () => seen.inFlight === 2)
  t.same(statesOf(path), { sending: 20, queued: 80 }, 'start() twice: two batches claimed (concurrency 2), nothing more')
  t.equal(dispatcher.state().inFlight, 2)

  // Both requests are still waiting for the simulator's answer.
  let statesWhenStopped: Record<string, number> | undefined
  const first = dispatcher.stop().then(() => { statesWhenStopped = statesOf(path) })
  const second = dispatcher.stop()
  await Promise.all([first, second])
  t.same(statesWhenStopped, { submitted: 20, queued: 80 }, 'stop() resolved only once both answers were stored: none left sending')
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 10], ['202', 10]])
  t.same(dispatcher.state(), { running: false, inFlight: 0, pausedUntil: 0, paused: false, halted: undefined })
  await dispatcher.stop()
  t.pass('stop() on a stopped dispatcher resolves')

  await settle()
  t.equal(seen.total, 2, 'no request after stop()')
  t.same(statesOf(path), { submitted: 20, queued: 80 }, 'no claim after stop()')
  t.ok(rowsOf(path).filter((m) => m.state === 'queued').every((m) => m.attempts === 0), 'the waiting messages were never touched')
  dispatcher.wake()
  await settle()
  t.equal(seen.total, 2, 'wake() does nothing while stopped')
  t.same(statesOf(path), { submitted: 20, queued: 80 })

  // Started again, it sends the rest: nothing lost, nothing twice.
  sim.latencyMs = 0
  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 100))
  const counts = sim.referenceCounts()
  t.equal(counts.size, 100)
  t.ok([...counts.values()].every((n) => n === 1), 'each message sent once')
  t.equal(sim.requestLog.length, 10)
  t.ok(rowsOf(path).every((m) => m.attempts === 1 && m.provider_message_id !== null && m.provider_message_id.length === 26), 'one attempt each, provider id stored')
})

t.test('stop() right after start(): a claim under way is sent and settled before stop() resolves', async (t) => {
  // start() claims at once and then awaits the store; stop() called meanwhile must wait for that
  // claim's request too, or the store would close under it and leave the messages `sending`,
  // to be sent again by another process when their lease ends.
  const sim = await startSim(t)
  sim.latencyMs = 100
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim) })
  await accept(store, 5)

  dispatcher.start()
  await dispatcher.stop()
  const inFlight = dispatcher.state().inFlight
  const acceptedAtStop = sim.accepted.length
  await store.close() // what Service.stop() does once the dispatcher has stopped

  t.equal(inFlight, 0, 'no request in flight once stop() resolved')
  const rows = rowsOf(path)
  t.equal(rows.filter((m) => m.state === 'sending').length, 0, 'no message left sending in the closed database')
  t.equal(rows.filter((m) => m.state === 'submitted').length, acceptedAtStop, 'what reached the provider is recorded as submitted')
  t.equal(sim.accepted.length, acceptedAtStop, 'nothing reached the provider after stop() resolved')
})

t.test('concurrency bounds the requests the provider sees at once; every message arrives once', async (t) => {
  const sim = await startSim(t)
  sim.latencyMs = 50 // long enough that the two requests surely overlap
  const { seen } = trackRequests(sim)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 2, batchSize: 10 })
  await accept(store, 100)

  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 100))
  t.equal(seen.max, 2, 'two requests at once at most, and the two were used')
  t.equal(seen.total, 10, 'ten requests of ten')
  t.ok(sim.requestLog.every((r) => r.status === '202' && r.messages === 10))
  const counts = sim.referenceCounts()
  t.equal(counts.size, 100)
  t.ok([...counts.values()].every((n) => n === 1), 'each message arrived once')
})

t.test('two dispatchers on two connections to one database send each message exactly once', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const storeA = openStore(t, path)
  const storeB = openStore(t, path)
  const a = createDispatcher(t, { store: storeA, sender: createSender(t, sim), concurrency: 4, batchSize: 25 })
  const b = createDispatcher(t, { store: storeB, sender: createSender(t, sim), concurrency: 4, batchSize: 25 })
  await accept(storeA, 1000)
  await accept(storeB, 1000)
  const sentBy = { a: 0, b: 0 }
  a.on('settled', (kind, n) => { if (kind === 'sent') sentBy.a += n })
  b.on('settled', (kind, n) => { if (kind === 'sent') sentBy.b += n })

  a.start()
  b.start()
  await until(sim, 'accepted', () => sim.accepted.length >= 2000)
  await Promise.all([a.stop(), b.stop()])

  t.ok(sentBy.a > 0 && sentBy.b > 0, `both dispatchers sent (${sentBy.a} / ${sentBy.b})`)
  t.equal(sentBy.a + sentBy.b, 2000, 'together they sent each message once')
  const counts = sim.referenceCounts()
  t.equal(sim.accepted.length, 2000)
  t.equal(counts.size, 2000)
  t.ok([...counts.values()].every((n) => n === 1), 'no message reached the provider twice')
  const rows = rowsOf(path)
  t.ok(rows.every((m) => m.state === 'submitted' && m.attempts === 1), 'all submitted, each claimed once')
  const refs = new Set(rows.map((m) => m.reference))
  t.ok([...counts.keys()].every((r) => refs.has(r)), 'what arrived is what was stored')
})

t.test('wake() sends newly stored messages at once, without waiting for the idle poll', { timeout: 15_000 }, async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), idlePollMs: 60_000 })

  dispatcher.start()
  // The dispatcher found nothing and went to sleep for the idle poll (60 s).
  await settle()
  t.equal(sim.requestLog.length, 0)

  await accept(store, 3)
  dispatcher.wake()
  await until(sim, 'accepted', () => sim.accepted.length === 3)
  await until(dispatcher, 'settled', allSubmitted(path, 3))
  t.same([...sim.referenceCounts().values()], [1, 1, 1])
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 3]])
})

t.test('a message re-claimed with its attempts used up fails as send-timeout without being sent', async (t) => {
  const sim = await startSim(t)
  const { seen } = trackRequests(sim)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const T0 = 1_700_000_000_000
  let now = T0
  const clock: Clock = { now: () => now }

  // Crashed processes claimed these and died: `spent` five times (maxAttempts), `lastChance` four times.
  await accept(store, 3, { scheduledAt: T0, registrationId: 'tenant-spent' })
  await accept(store, 1, { scheduledAt: T0 + 10, registrationId: 'tenant-last-chance', senderId: 'Last' })
  for (let i = 0; i < 5; i++) await store.claimDue(T0 + i * 10, 10, 10)
  t.same(rowsOf(path).map((m) => [m.state, m.attempts]), [['sending', 5], ['sending', 5], ['sending', 5], ['sending', 4]])
  const [spentA, spentB, spentC, lastChance] = rowsOf(path)

  now = T0 + 100 // every lease has run out
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, maxAttempts: 5 })
  const settledKinds: Array<[string, number]> = []
  dispatcher.on('settled', (kind, n) => { settledKinds.push([kind, n]) })
  dispatcher.start()
  await until(dispatcher, 'settled', () => rowsOf(path).every((m) => m.state === 'failed' || m.state === 'submitted'))

  const rows = rowsOf(path)
  t.same(rows.slice(0, 3).map((m) => [m.state, m.final_outcome, m.last_error]), Array(3).fill(['failed', 'send-timeout', 'gave up after 5 attempts']))
  t.equal(rows[3]!.state, 'submitted', 'a message with an attempt left is sent')
  t.same(sim.accepted.map((m) => m.reference), [lastChance!.reference], 'only that one reached the provider')
  t.equal(seen.total, 1, 'one request, for the one message')
  t.same(settledKinds.sort(), [['expired', 3], ['sent', 1]])
  const reports = readDatabase(path).reports
  t.same(reports.map((r) => [r.message_id, r.registration_id, r.outcome, r.state, r.status_at]).sort(), [
    [spentA!.id, 'tenant-spent', 'send-timeout', 'pending', now],
    [spentB!.id, 'tenant-spent', 'send-timeout', 'pending', now],
    [spentC!.id, 'tenant-spent', 'send-timeout', 'pending', now]
  ], 'each failure queued its delivery report')
})

t.test('a 429 asking for a year pauses for the cap only (one hour by default); nothing is stored beyond it, no timer overflows', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  await accept(store, 5)
  const now = Date.now()
  const clock: Clock = { now: () => now }
  const warnings = overflowWarnings(t)
  sim.script({ status: 429, headers: { 'retry-after': '31536000' } })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock })

  const throttled = settledOnce(dispatcher, 'throttled')
  dispatcher.start()
  await throttled
  await settle() // the pause's timer is armed, and any warning it caused is emitted

  const state = dispatcher.state()
  t.equal(state.pausedUntil - now, HOUR_MS, 'paused for the default cap, not a year')
  t.equal(state.paused, true)
  const rows = rowsOf(path)
  t.same(rows.map((m) => [m.state, m.attempts]), Array(5).fill(['queued', 0]), 'the throttled attempt was not counted')
  t.ok(rows.every((m) => m.next_attempt_at <= now + HOUR_MS), `no message is scheduled beyond now + the cap (${rows.map((m) => m.next_attempt_at - now).join(', ')} ms)`)
  t.same(warnings.map((w) => w.message), [], 'no TimeoutOverflowWarning')
  t.equal(sim.requestLog.length, 1, 'nothing more sent during the pause')
})

t.test('a 503 whose Retry-After is an HTTP date a year ahead pauses for the configured cap only', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  await accept(store, 3)
  const now = Date.now()
  const clock: Clock = { now: () => now }
  const warnings = overflowWarnings(t)
  sim.script({ status: 503, headers: { 'retry-after': new Date(now + YEAR_MS).toUTCString() } })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, maxRetryAfterMs: 60_000 })

  const throttled = settledOnce(dispatcher, 'throttled')
  dispatcher.start()
  await throttled
  await settle()

  t.equal(dispatcher.state().pausedUntil - now, 60_000, 'paused for maxRetryAfterMs')
  t.same(rowsOf(path).map((m) => m.next_attempt_at - now), [60_000, 60_000, 60_000], 'rescheduled to the end of the capped pause')
  t.same(warnings.map((w) => w.message), [])
})

t.test('a cap beyond setTimeout\'s range: a year-long pause is honoured without a timer overflow', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  await accept(store, 2)
  const now = Date.now()
  const clock: Clock = { now: () => now }
  const warnings = overflowWarnings(t)
  sim.script({ status: 429, headers: { 'retry-after': String(YEAR_MS / 1000) } })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, maxRetryAfterMs: 2 * YEAR_MS })

  const throttled = settledOnce(dispatcher, 'throttled')
  dispatcher.start()
  await throttled
  await settle()

  t.equal(dispatcher.state().pausedUntil - now, YEAR_MS, 'the pause the provider asked for, within the configured cap')
  t.same(warnings.map((w) => w.message), [], 'no TimeoutOverflowWarning: the timer was clamped to its range')
})

t.test('a 3xx from the provider: the messages are retried, never failed, and an error is logged', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const logs = logCapture()
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), logger: createLogger('info', logs.stream) })
  sim.script({ status: 301, headers: { location: 'https://elsewhere.example/mobile/multi' } })
  await accept(store, 5)
  const kinds: string[] = []
  dispatcher.on('settled', (kind) => { kinds.push(kind) })

  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 5))

  // Full jitter may spread the five retries over more than one request.
  t.equal(kinds[0], 'transient', 'the redirect was a failed request')
  t.ok(kinds.length > 1 && kinds.slice(1).every((k) => k === 'sent'), `then retried and sent (${kinds.join(', ')})`)
  t.same(rowsOf(path).map((m) => [m.state, m.final_outcome, m.attempts]), Array(5).fill(['submitted', null, 2]), 'no message failed')
  t.equal(sim.requestLog[0]?.status, '301')
  t.same(sim.requestLog.slice(1).map((r) => r.status), Array(sim.requestLog.length - 1).fill('202'))
  t.equal(sim.accepted.length, 5, 'each message sent once, after the redirect')
  const errors = logs.lines().map((l) => JSON.parse(l)).filter((l) => l.level === 50)
  t.equal(errors.length, 1, 'one error line')
  t.match(errors[0], { reason: 'HTTP 301 redirect to https://elsewhere.example/mobile/multi: check GATEWAYAPI_BASE_URL', ambiguous: false, retried: 5 })
})
