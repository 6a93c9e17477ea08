import t, { type Test } from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Dispatcher, type DispatcherOptions } from '../../src/core/dispatcher.js'
import type { MessageSender } from '../../src/core/message-sender.js'
import type { SendingStatus } from '../../src/core/sending-status.js'
import type { Settled } from '../../src/core/work-loop.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import type { MessageRecord, NewBatch, Store } from '../../src/core/store/store.js'
import { createGatewayApiClient } from '../../src/gatewayapi/send-client.js'
import type { Clock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/logger.js'
import { apiErrorBody, SimGatewayApi } from '../../src/sim/gatewayapi.js'
import { claimAllDue, inspectStoreAt, logCapture, overflowWarnings, simGatewayApi, until } from '../helper.js'

// The Dispatcher against a real SQLite store and the real GatewayAPI client talking to the
// simulated GatewayAPI over loopback. Outcomes are awaited through events, never by sleeping.

const TOKEN = 'secret-gatewayapi-token-4'
const systemTime: Clock = { now: () => Date.now() }

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
  const sim = await simGatewayApi(t, { token: TOKEN }).start()
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

const rowsOf = async (path: string): Promise<MessageRecord[]> => (await inspectStoreAt(path)).messages
const statesOf = async (path: string): Promise<Record<string, number>> => {
  const counts: Record<string, number> = {}
  for (const m of await rowsOf(path)) counts[m.state] = (counts[m.state] ?? 0) + 1
  return counts
}
const allSubmitted = (path: string, n: number) => async (): Promise<boolean> => {
  const rows = await rowsOf(path)
  return rows.length === n && rows.every((m) => m.state === 'submitted')
}
/** Lets pending callbacks run (no time passes): anything the dispatcher would do now has been done. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const HOUR_MS = 3_600_000
const YEAR_MS = 365 * 24 * HOUR_MS


/** Resolves once the dispatcher has settled a request of this kind. */
async function settledOnce (dispatcher: Dispatcher, kind: string): Promise<void> {
  const kinds: string[] = []
  const record = ({ outcome }: Settled): void => { kinds.push(outcome) }
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
  t.same(await statesOf(path), { sending: 20, queued: 80 }, 'start() twice: two batches claimed (concurrency 2), nothing more')
  t.equal(dispatcher.state().inFlight, 2)

  // Both requests are still waiting for the simulator's answer.
  let statesWhenStopped: Record<string, number> | undefined
  const first = dispatcher.stop().then(async () => { statesWhenStopped = await statesOf(path) })
  const second = dispatcher.stop()
  await Promise.all([first, second])
  t.same(statesWhenStopped, { submitted: 20, queued: 80 }, 'stop() resolved only once both answers were stored: none left sending')
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 10], ['202', 10]])
  t.same(dispatcher.state(), { running: false, inFlight: 0, pausedUntil: 0, paused: false, noCredit: false, halted: undefined, nextProbeAt: undefined, concurrencyLimit: 2 })
  await dispatcher.stop()
  t.pass('stop() on a stopped dispatcher resolves')

  await settle()
  t.equal(seen.total, 2, 'no request after stop()')
  t.same(await statesOf(path), { submitted: 20, queued: 80 }, 'no claim after stop()')
  t.ok((await rowsOf(path)).filter((m) => m.state === 'queued').every((m) => m.attempts === 0), 'the waiting messages were never touched')
  dispatcher.wake()
  await settle()
  t.equal(seen.total, 2, 'wake() does nothing while stopped')
  t.same(await statesOf(path), { submitted: 20, queued: 80 })

  // Started again, it sends the rest: nothing lost, nothing twice.
  sim.latencyMs = 0
  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 100))
  const counts = sim.referenceCounts()
  t.equal(counts.size, 100)
  t.ok([...counts.values()].every((n) => n === 1), 'each message sent once')
  t.equal(sim.requestLog.length, 10)
  t.ok((await rowsOf(path)).every((m) => m.attempts === 1 && m.providerMessageId !== null && m.providerMessageId.length === 26), 'one attempt each, provider id stored')
})

t.test('stop() right after start(): a claim under way is settled (sent, or handed back) before stop() resolves', async (t) => {
  // start() claims at once and then awaits the store; stop() called meanwhile must wait for that
  // claim too, or the store would close under it and leave the messages `sending`, to be sent
  // again by another process only when their lease ends.
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
  const rows = await rowsOf(path)
  t.equal(rows.filter((m) => m.state === 'sending').length, 0, 'no message left sending in the closed database')
  t.equal(rows.filter((m) => m.state === 'submitted').length, acceptedAtStop, 'what reached the provider is recorded as submitted')
  t.equal(sim.accepted.length, acceptedAtStop, 'nothing reached the provider after stop() resolved')
  t.ok(rows.filter((m) => m.state === 'queued').every((m) => m.attempts === 0), 'what was handed back unsent has its attempt refunded')
  t.equal(rows.filter((m) => m.state === 'queued' || m.state === 'submitted').length, 5, 'every message is either sent or waiting again')
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
  a.on('settled', ({ outcome, rows }) => { if (outcome === 'sent') sentBy.a += rows })
  b.on('settled', ({ outcome, rows }) => { if (outcome === 'sent') sentBy.b += rows })

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
  const rows = await rowsOf(path)
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
  for (let i = 0; i < 5; i++) await claimAllDue(store, T0 + i * 10, 10, 10)
  t.same((await rowsOf(path)).map((m) => [m.state, m.attempts]), [['sending', 5], ['sending', 5], ['sending', 5], ['sending', 4]])
  const [spentA, spentB, spentC, lastChance] = await rowsOf(path)

  now = T0 + 100 // every lease has run out
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, maxAttempts: 5 })
  const settledKinds: Array<[string, number]> = []
  dispatcher.on('settled', ({ outcome, rows }) => { settledKinds.push([outcome, rows]) })
  dispatcher.start()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).every((m) => m.state === 'failed' || m.state === 'submitted'))

  const rows = await rowsOf(path)
  t.same(rows.slice(0, 3).map((m) => [m.state, m.finalOutcome, m.lastError]), Array(3).fill(['failed', 'send-timeout', 'gave up after 5 attempts']))
  t.equal(rows[3]!.state, 'submitted', 'a message with an attempt left is sent')
  t.same(sim.accepted.map((m) => m.reference), [lastChance!.reference], 'only that one reached the provider')
  t.equal(seen.total, 1, 'one request, for the one message')
  t.same(settledKinds.sort(), [['expired', 3], ['sent', 1]])
  const reports = (await inspectStoreAt(path)).reports
  t.same(reports.map((r) => [r.messageId, r.registrationId, r.outcome, r.state, r.statusAt]).sort(), [
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
  const rows = await rowsOf(path)
  t.same(rows.map((m) => [m.state, m.attempts]), Array(5).fill(['queued', 0]), 'the throttled attempt was not counted')
  t.ok(rows.every((m) => m.nextAttemptAt <= now + HOUR_MS), `no message is scheduled beyond now + the cap (${rows.map((m) => m.nextAttemptAt - now).join(', ')} ms)`)
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
  t.same((await rowsOf(path)).map((m) => m.nextAttemptAt - now), [60_000, 60_000, 60_000], 'rescheduled to the end of the capped pause')
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
  dispatcher.on('settled', ({ outcome }) => { kinds.push(outcome) })

  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 5))

  // Full jitter may spread the five retries over more than one request.
  t.equal(kinds[0], 'transient', 'the redirect was a failed request')
  t.ok(kinds.length > 1 && kinds.slice(1).every((k) => k === 'sent'), `then retried and sent (${kinds.join(', ')})`)
  t.same((await rowsOf(path)).map((m) => [m.state, m.finalOutcome, m.attempts]), Array(5).fill(['submitted', null, 2]), 'no message failed')
  t.equal(sim.requestLog[0]?.status, '301')
  t.same(sim.requestLog.slice(1).map((r) => r.status), Array(sim.requestLog.length - 1).fill('202'))
  t.equal(sim.accepted.length, 5, 'each message sent once, after the redirect')
  const errors = logs.lines().map((l) => JSON.parse(l)).filter((l) => l.level === 50)
  t.equal(errors.length, 1, 'one error line')
  t.match(errors[0], { reason: 'HTTP 301 redirect to https://elsewhere.example/mobile/multi: check GATEWAYAPI_BASE_URL', ambiguous: false, retried: 5 })
})

// ── Answers classified by what they mean ────────────────────────────────────────────────

/** A clock the test moves by hand. */
function manualClock (start = 1_700_000_000_000): Clock & { set(at: number): void; advance(ms: number): void } {
  let now = start
  return { now: () => now, set: (at) => { now = at }, advance: (ms) => { now += ms } }
}

/** Accepts `n` messages due at `at`, to numbers 4520000000 + first + i (a registration of its own if given). */
async function acceptAt (store: Store, n: number, at: number, overrides: Partial<NewBatch> = {}): Promise<void> {
  const key = `k${++keys}`
  await store.acceptCampaign(
    { registrationId: 'tenant-a', idempotencyKey: key, batchId: `batch-${key}`, requestId: `request-${key}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: at, receivedAt: at, ...overrides },
    Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4520000000 + i), customerId: `customer-${i}`, text: `${key} message ${i}` })))
}

/** Records every status the dispatcher reports for /health. */
function sendingLog (): { statuses: SendingStatus[]; onSendingChange: (s: SendingStatus) => void } {
  const statuses: SendingStatus[] = []
  return { statuses, onSendingChange: (s) => { statuses.push(s) } }
}

const BLACKLISTED = 4520000437

t.test('a 403 "blacklisted" for one recipient of 1,000, not naming it: only that message fails (code and text in its report), the 999 others are sent once', async (t) => {
  const sim = await startSim(t)
  sim.blacklist.add(BLACKLISTED)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 1, batchSize: 1000 })
  await accept(store, 1000)
  const kinds: string[] = []
  dispatcher.on('settled', ({ outcome }) => { kinds.push(outcome) })

  dispatcher.start()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).every((m) => m.state === 'submitted' || m.state === 'failed'))

  const rows = await rowsOf(path)
  const refused = rows.filter((m) => m.state === 'failed')
  t.same(refused.map((m) => [m.mobileNumber, m.finalOutcome, m.lastError]), [[String(BLACKLISTED), 'provider-rejected', 'MSISDN blacklisted']], 'exactly the blacklisted message failed, with GatewayAPI\'s words')
  const counts = sim.referenceCounts()
  t.equal(counts.size, 999, 'the 999 others reached GatewayAPI')
  t.ok([...counts.values()].every((n) => n === 1), 'each of them once: a half GatewayAPI took was never sent again')
  t.notOk(counts.has(refused[0]!.reference), 'the refused one never reached it')
  t.ok(rows.filter((m) => m.state === 'submitted').every((m) => m.attempts === 1 && m.providerMessageId !== null), 'one attempt each for the innocent, provider id stored')
  // The refused part, halved each time: 1000, 500, 250, 125, 63, 31, 15, 7, 3, 1; the nine other halves were taken.
  t.same(sim.requestLog.filter((r) => r.status === '403').map((r) => r.messages), [1000, 500, 250, 125, 63, 31, 15, 7, 3, 1], 'the refused part was halved until it was one message')
  t.same(sim.requestLog.filter((r) => r.status === '202').map((r) => r.messages), [500, 250, 125, 62, 32, 16, 8, 4, 2], 'every innocent half was sent once')
  t.same(kinds.filter((k) => k !== 'sent'), Array(10).fill('rejected'))
  t.ok(sim.requestLog.every((r) => r.messages <= 1000))
  const reports = (await inspectStoreAt(path)).reports
  t.same(reports.map((r) => [r.messageId, r.outcome, r.errorCode, r.errorDetails]), [[refused[0]!.id, 'provider-rejected', '0x0215', 'MSISDN blacklisted']], 'its report carries GatewayAPI\'s code and text')
  t.equal(dispatcher.state().halted, undefined, 'a refused recipient does not halt sending')
})

t.test('a refusal that names the number fails that message at once and sends the others in one request', async (t) => {
  const sim = await startSim(t)
  sim.blacklist.add(4520000003)
  sim.nameRefusedRecipients = true
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 1, batchSize: 10 })
  await accept(store, 10)

  dispatcher.start()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).every((m) => m.state === 'submitted' || m.state === 'failed'))
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['403', 10], ['202', 9]], 'no split needed')
  const failed = (await rowsOf(path)).filter((m) => m.state === 'failed')
  t.same(failed.map((m) => [m.mobileNumber, m.lastError]), [['4520000003', 'MSISDN 4520000003 blacklisted']])
  t.same((await inspectStoreAt(path)).reports.map((r) => r.errorCode), ['0x0215'])
  t.ok([...sim.referenceCounts().values()].every((n) => n === 1))
})

t.test('two refused recipients (a blacklisted number, a country the account may not text): both found by halves, the rest sent once', async (t) => {
  const sim = await startSim(t)
  sim.blacklist.add(4520000002)
  sim.forbiddenCountries.add('46')
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 1, batchSize: 40 })
  await accept(store, 20)
  const key = `k${++keys}`
  const now = Date.now()
  await store.acceptCampaign({ registrationId: 'tenant-a', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: now, receivedAt: now },
    [{ mobileNumber: '46701234567', customerId: 'swede', text: 'Hej' }])

  dispatcher.start()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).every((m) => m.state === 'submitted' || m.state === 'failed'))
  const failed = (await rowsOf(path)).filter((m) => m.state === 'failed')
  t.same(failed.map((m) => m.mobileNumber).sort(), ['4520000002', '46701234567'])
  t.same((await inspectStoreAt(path)).reports.map((r) => [r.errorCode, r.errorDetails]).sort(), [['0x0215', 'MSISDN blacklisted'], ['0x0217', 'Unauthorized destination: country']])
  t.equal(sim.referenceCounts().size, 19)
  t.ok([...sim.referenceCounts().values()].every((n) => n === 1))
})

t.test('a refused half is split again while the halves GatewayAPI took are settled; a throttle meanwhile puts the unsent rest back for the pause', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const clock = manualClock()
  await acceptAt(store, 8, clock.now())
  sim.script({ status: 403, body: apiErrorBody(0x0215) }, { status: 429, headers: { 'retry-after': '60' } })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, concurrency: 1, batchSize: 8 })

  const throttled = settledOnce(dispatcher, 'throttled')
  dispatcher.start()
  await throttled
  await settle()
  t.same(sim.requestLog.map((r) => r.status), ['403', '429'], 'the first half was throttled; the second was not sent')
  t.same((await rowsOf(path)).map((m) => [m.state, m.attempts, m.nextAttemptAt - clock.now()]), Array(8).fill(['queued', 0, 60_000]), 'all eight wait for the end of the pause, no attempt counted')
})

t.test('insufficient credit: sending pauses for the configured time, nothing is failed, then everything goes', async (t) => {
  const sim = await startSim(t)
  sim.credit = 0
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const clock = manualClock()
  const logs = logCapture()
  const sending = sendingLog()
  await acceptAt(store, 30, clock.now())
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, concurrency: 1, batchSize: 10, noCreditPauseMs: 900_000, logger: createLogger('info', logs.stream), onSendingChange: sending.onSendingChange })

  const noCredit = settledOnce(dispatcher, 'no-credit')
  dispatcher.start()
  await noCredit
  await settle()
  const paused = clock.now() + 900_000
  t.match(dispatcher.state(), { paused: true, noCredit: true, pausedUntil: paused, halted: undefined })
  t.same(dispatcher.sending(), { state: 'paused', cause: 'no-credit', until: paused })
  t.same(await statesOf(path), { queued: 30 }, 'nothing failed, nothing lost')
  t.ok((await rowsOf(path)).every((m) => m.attempts === 0 && m.nextAttemptAt <= paused), 'the attempts were refunded, and no one waits beyond the pause')
  t.equal((await inspectStoreAt(path)).reports.length, 0, 'no report: nothing was failed')
  const requestsDuringPause = sim.requestLog.length
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['403', 10]], 'one request refused, and none after it')
  t.equal(logs.lines().map((l) => JSON.parse(l)).filter((l) => l.level === 50 && /no credit/.test(l.msg)).length, 1, 'one error logged for the pause')

  // Still paused a moment before its end: a wake-up sends nothing.
  clock.set(paused - 1)
  dispatcher.wake()
  await settle()
  t.equal(sim.requestLog.length, requestsDuringPause, 'nothing sent during the pause')

  sim.credit = undefined // the account was topped up
  clock.set(paused)
  dispatcher.wake()
  await until(dispatcher, 'settled', allSubmitted(path, 30))
  t.ok([...sim.referenceCounts().values()].every((n) => n === 1) && sim.referenceCounts().size === 30, 'each sent once')
  t.ok((await rowsOf(path)).every((m) => m.attempts === 1), 'one attempt each: the refused ones were refunded')
  t.same(sending.statuses, [{ state: 'paused', cause: 'no-credit', until: paused }, { state: 'ok' }], '/health was told of the pause and of its end')
  t.match(dispatcher.state(), { paused: false, noCredit: false })
})

t.test('401: sending halts with the queue intact; one request is tried at each probe time; when the token works again sending resumes by itself', async (t) => {
  const sim = await startSim(t)
  sim.refuseToken(401)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const clock = manualClock()
  const logs = logCapture()
  const sending = sendingLog()
  await acceptAt(store, 25, clock.now())
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, concurrency: 1, batchSize: 10, credentialsProbeMs: 300_000, logger: createLogger('info', logs.stream), onSendingChange: sending.onSendingChange })
  const halted = clock.now()

  const refused = settledOnce(dispatcher, 'unauthorized')
  dispatcher.start()
  await refused
  await settle()
  t.match(dispatcher.state(), { halted: /^provider refused our credentials \(HTTP 401\): .*0x0210/, nextProbeAt: halted + 300_000 })
  t.same(await statesOf(path), { queued: 25 }, 'the queue waits intact')
  t.ok((await rowsOf(path)).every((m) => m.attempts === 0), 'no attempt burnt')
  const refusedAtHalt = sim.requestLog.length
  t.same(sim.requestLog.map((r) => r.status), ['401'], 'one request refused, and none after it')
  t.equal(logs.lines().filter((l) => l.includes('sending halted')).length, 1, 'one error logged')

  clock.set(halted + 299_999)
  dispatcher.wake()
  await settle()
  t.equal(sim.requestLog.length, refusedAtHalt, 'nothing is sent before the probe is due, whatever wakes us')

  clock.set(halted + 300_000)
  const probed = settledOnce(dispatcher, 'unauthorized')
  dispatcher.wake()
  await probed
  await settle()
  t.same(sim.requestLog.slice(refusedAtHalt).map((r) => r.status), ['401'], 'one request at the probe time, refused again')
  t.equal(dispatcher.state().nextProbeAt, halted + 600_000, 'the next probe is one interval later')
  t.same(await statesOf(path), { queued: 25 })

  sim.acceptToken()
  clock.set(halted + 600_000)
  dispatcher.wake()
  await until(dispatcher, 'settled', allSubmitted(path, 25))
  t.equal(dispatcher.state().halted, undefined, 'resumed without a restart')
  t.ok(sim.referenceCounts().size === 25 && [...sim.referenceCounts().values()].every((n) => n === 1), 'each message sent once')
  t.ok((await rowsOf(path)).every((m) => m.attempts === 1), 'refused attempts were never counted')
  t.match(sending.statuses, [
    { state: 'halted', reason: /^provider refused our credentials \(HTTP 401\)/, since: halted, nextProbeAt: halted + 300_000 },
    { state: 'halted', since: halted, nextProbeAt: halted + 600_000 },
    { state: 'ok' }
  ], '/health was told of the halt, of each next try, and of the resumption')
  t.equal(sending.statuses.length, 3)
  t.ok(logs.lines().some((l) => l.includes('sending resumed')), 'the resumption is logged')
})

t.test('403 for an account reason (unauthorized IP address) halts like a 401; a probe GatewayAPI takes resumes', async (t) => {
  const sim = await startSim(t)
  sim.refuseToken(403, apiErrorBody(0x0213, ['192.0.2.7']))
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const clock = manualClock()
  await acceptAt(store, 3, clock.now())
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, credentialsProbeMs: 1000 })

  dispatcher.start()
  await until(dispatcher, 'settled', () => dispatcher.state().halted !== undefined)
  t.match(dispatcher.state().halted, /HTTP 403.*Unauthorized IP-address: 192\.0\.2\.7/)
  sim.acceptToken()
  clock.advance(1000)
  dispatcher.wake()
  await until(dispatcher, 'settled', allSubmitted(path, 3))
  t.equal(dispatcher.state().halted, undefined)
})

for (const status of [404, 405, 415]) {
  t.test(`${status}: a configuration error halts like a 401, nothing is failed, and a probe that gets through resumes`, async (t) => {
    const sim = await startSim(t)
    const path = `${t.testdir()}/bridge.db`
    const store = openStore(t, path)
    const clock = manualClock()
    await acceptAt(store, 5, clock.now())
    sim.script({ status, body: { detail: 'Not Found' } })
    const sending = sendingLog()
    const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, credentialsProbeMs: 60_000, onSendingChange: sending.onSendingChange })

    dispatcher.start()
    await until(dispatcher, 'settled', () => dispatcher.state().halted !== undefined)
    await settle()
    t.match(dispatcher.state().halted, new RegExp(`^provider configuration error \\(HTTP ${status}\\): check GATEWAYAPI_BASE_URL`))
    t.same((await rowsOf(path)).map((m) => [m.state, m.attempts]), Array(5).fill(['queued', 0]), 'nothing failed, no attempt counted')
    t.equal((await inspectStoreAt(path)).reports.length, 0)

    clock.advance(60_000)
    dispatcher.wake()
    await until(dispatcher, 'settled', allSubmitted(path, 5))
    t.same(sim.requestLog.map((r) => r.status), [String(status), '202'])
    t.same(sending.statuses.map((s) => s.state), ['halted', 'ok'])
  })
}

t.test('413: the request is sent in halves, each message once; a single message refused as too large fails', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  await accept(store, 10)
  sim.script({ status: 413, body: { detail: 'Request Entity Too Large' } }, { status: 413 })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 1, batchSize: 10 })

  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 10))
  t.same(sim.requestLog.map((r) => r.status), ['413', '413', '202', '202', '202'], '10 → 5 + 5, the first 5 → 3 + 2')
  t.same(sim.requestLog.filter((r) => r.status === '202').map((r) => r.messages), [5, 3, 2])
  t.ok(sim.referenceCounts().size === 10 && [...sim.referenceCounts().values()].every((n) => n === 1))
  t.ok((await rowsOf(path)).every((m) => m.attempts === 1))

  await accept(store, 1)
  sim.script({ status: 413 })
  dispatcher.wake()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).some((m) => m.state === 'failed'))
  t.match((await rowsOf(path)).find((m) => m.state === 'failed'), { finalOutcome: 'provider-rejected', lastError: /refused by the provider \(HTTP 413\)/ })
})

t.test('expiration and label: each message carries its registration\'s expiration and name; a name over 128 characters is cut', async (t) => {
  const sim = await startSim(t)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const longName = `tenant-${'x'.repeat(200)}`
  const registrations = [{ id: 'tenant-a', expiration: 'P2D' }, { id: 'tenant-b', expiration: 'PT12H' }, { id: longName, expiration: 'P5D' }]
  // Each registration's messages go in a request of their own (a claim serves one registration); the fields are per message.
  await accept(store, 2, { registrationId: 'tenant-a' })
  await accept(store, 2, { registrationId: 'tenant-b' })
  await accept(store, 1, { registrationId: longName })
  await accept(store, 1, { registrationId: 'tenant-gone' })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), concurrency: 1, batchSize: 10, registrations })

  dispatcher.start()
  await until(dispatcher, 'settled', allSubmitted(path, 6))
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 2], ['202', 2], ['202', 1], ['202', 1]], 'a request for each of the four registrations')
  const byReference = new Map(sim.accepted.map((a) => [a.reference, a]))
  const got = (await rowsOf(path)).map((m) => [byReference.get(m.reference)?.expiration, byReference.get(m.reference)?.label])
  t.same(got, [
    ['P2D', 'tenant-a'], ['P2D', 'tenant-a'],
    ['PT12H', 'tenant-b'], ['PT12H', 'tenant-b'],
    ['P5D', longName.slice(0, 128)],
    [null, 'tenant-gone']
  ], 'a registration no longer configured gets GatewayAPI\'s default expiration, and still its label')
})

t.test('a bisection never starts a request once its claim has less than half its lease left: the rest goes back, its attempt refunded', async (t) => {
  const sim = await startSim(t)
  sim.blacklist.add(4520000005)
  const path = `${t.testdir()}/bridge.db`
  const store = openStore(t, path)
  const clock = manualClock()
  await acceptAt(store, 8, clock.now())
  // Every request GatewayAPI answers takes 20 s of the 60 s lease.
  sim['server']!.server.on('request', () => { clock.advance(20_000) })
  const dispatcher = createDispatcher(t, { store, sender: createSender(t, sim), clock, concurrency: 1, batchSize: 8, leaseMs: 60_000 })

  dispatcher.start()
  await until(dispatcher, 'settled', async () => (await rowsOf(path)).every((m) => m.state === 'submitted' || m.state === 'failed'))
  // Each claim gets two requests in before its lease is too short for another, and the split
  // goes on at the next claim where it stopped (it never starts over with the whole request):
  // claim 1: 8 refused, 4 taken; claim 2: 4 refused, 2 refused; claim 3: 1 taken, 1 refused; claim 4: 2 taken.
  t.same(sim.requestLog.map((r) => [r.status, r.messages]), [['403', 8], ['202', 4], ['403', 4], ['403', 2], ['202', 1], ['403', 1], ['202', 2]])
  t.same((await rowsOf(path)).filter((m) => m.state === 'failed').map((m) => m.mobileNumber), ['4520000005'])
  t.ok((await rowsOf(path)).filter((m) => m.state === 'submitted').every((m) => m.attempts === 1), 'each innocent message counted one attempt, however often it went back')
  t.ok([...sim.referenceCounts().values()].every((n) => n === 1))
})
