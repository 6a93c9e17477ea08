import t, { type Test } from 'tap'
import { once } from 'node:events'
import { Dispatcher, type DispatcherOptions } from '../../src/core/dispatcher.js'
import type { MessageSender, OutgoingMessage, SendOutcome } from '../../src/core/message-sender.js'
import type { MessageRecord, Store } from '../../src/core/store/store.js'
import type { Settled } from '../../src/core/work-loop.js'
import { createLogger } from '../../src/logger.js'
import { openMemoryStore } from '../fakes/memory-store.js'
import { logCapture, until } from '../helper.js'

// What the dispatcher decides for each answer of the provider (what fails, what is sent again
// and when, what pauses or halts sending, what a split does when it is interrupted), on the
// in-memory store with a clock the test moves by hand and a provider that answers as scripted.

const T0 = 1_700_000_000_000
const PROBE_MS = 300_000
const NO_CREDIT_MS = 900_000
const LEVEL = { warn: 40, error: 50 }

interface Held { messages: OutgoingMessage[]; answer: (outcome: SendOutcome) => void }
interface LogLine { level: number; msg: string; [field: string]: unknown }
interface Sleep { afterSettled: number; until: number | null }

/**
 * A store that refuses a settlement naming no message: every settlement must name a message it
 * claimed. (The adapters would ignore such an item; here it fails loudly, and the dispatcher
 * logs the failure, which the test sees.)
 */
function strict (store: Store, rescheduled: Array<[count: number, error: string]>): Store {
  const check = (items: ReadonlyArray<{ id: unknown }>): void => {
    if (items.some((i) => typeof i.id !== 'string')) throw new Error('a settlement names no message')
  }
  return {
    ...store,
    markSubmitted: async (items, now) => { check(items); return store.markSubmitted(items, now) },
    reschedule: async (items, error, now, options) => {
      check(items)
      rescheduled.push([items.length, error])
      return store.reschedule(items, error, now, options)
    },
    fail: async (items, now) => { check(items); return store.fail(items, now) }
  }
}

type Script = (messages: OutgoingMessage[], call: number) => SendOutcome | 'hold'

async function setup (t: Test, n: number, script: Script, options: Partial<DispatcherOptions> = {}) {
  const memory = openMemoryStore()
  t.teardown(() => memory.close())
  const rescheduled: Array<[count: number, error: string]> = []
  const store = strict(memory, rescheduled)
  const clock = { at: T0, now: () => clock.at }
  await store.acceptCampaign(
    { registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: T0, receivedAt: T0 },
    Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4520000000 + i), customerId: `c${i}`, text: `text ${i}` })))
  const requests: OutgoingMessage[][] = []
  const held: Held[] = []
  const sender: MessageSender = {
    send: (messages) => new Promise<SendOutcome>((resolve) => {
      requests.push(messages)
      const outcome = script(messages, requests.length)
      if (outcome === 'hold') held.push({ messages, answer: resolve })
      else resolve(outcome)
    }),
    close: async () => undefined
  }
  const log = logCapture()
  const dispatcher = new Dispatcher({
    store,
    sender,
    clock,
    logger: createLogger('info', log.stream),
    concurrency: 1,
    batchSize: n,
    leaseMs: 60_000,
    requestTimeoutMs: 30_000,
    maxAttempts: 3,
    maxAgeMs: 86_400_000,
    backoff: { baseMs: 1000, capMs: 60_000 },
    defaultRetryAfterMs: 1000,
    maxRetryAfterMs: 3_600_000,
    credentialsProbeMs: PROBE_MS,
    noCreditPauseMs: NO_CREDIT_MS,
    idlePollMs: 3_600_000,
    random: () => 0.5,
    ...options
  })
  const settled: Settled[] = []
  dispatcher.on('settled', (s) => settled.push(s))
  const sleeps: Sleep[] = []
  dispatcher.on('sleeping', (until) => sleeps.push({ afterSettled: settled.length, until }))
  t.teardown(() => dispatcher.stop())
  const lines = (): LogLine[] => log.lines().map((l) => JSON.parse(l) as LogLine)
  const messages = async (): Promise<MessageRecord[]> => (await memory.inspect()).messages
  return {
    store: memory,
    /** The store as the dispatcher sees it: a test may replace one of its methods before start(). */
    port: store,
    clock,
    dispatcher,
    requests,
    held,
    settled,
    /** Each reschedule the dispatcher asked of the store: how many messages, and why. */
    rescheduled,
    lines,
    messages,
    /** Each time the dispatcher went to sleep: until when, and how many settlements had been seen. */
    sleeps,
    /** Until when the dispatcher slept after the `count`th settlement (its loop always sleeps after one). */
    async sleepAfter (count: number): Promise<number | null> {
      await until(dispatcher, 'sleeping', () => sleeps.some((s) => s.afterSettled === count))
      return sleeps.find((s) => s.afterSettled === count)!.until
    },
    /** Starts the dispatcher and waits until `done` holds, checked after each settlement. */
    async run (done: () => boolean | Promise<boolean>): Promise<void> {
      const waiting = until(dispatcher, 'settled', done)
      dispatcher.start()
      await waiting
    },
    /** Resolves once `n` requests are held for the test to answer. */
    async heldCount (count: number): Promise<Held[]> {
      while (held.length < count) await new Promise((resolve) => setImmediate(resolve))
      return held
    },
    /** Stops the dispatcher and checks that nothing failed unexpectedly on the way. */
    async finish (): Promise<void> {
      await dispatcher.stop()
      t.same(lines().filter((l) => l.msg.startsWith('a request failed unexpectedly')).map((l) => l.err), [], 'no request failed unexpectedly')
    }
  }
}

const sent = (messages: OutgoingMessage[]): SendOutcome => ({ kind: 'sent', providerIds: new Map(messages.map((m) => [m.reference, `gw-${m.reference}`])) })
const UNAUTHORIZED: SendOutcome = { kind: 'unauthorized', status: 401, reason: 'bad token' }
const HALT_REASON = 'provider refused our credentials (HTTP 401): bad token'
const TOO_LARGE: SendOutcome = { kind: 'too-large', status: 413, reason: 'too big' }
/** Something was settled, and no message is left claimed. */
const idle = (h: { settled: Settled[]; messages: () => Promise<MessageRecord[]> }) => async () => h.settled.length > 0 && (await h.messages()).every((m) => m.state !== 'sending')

t.test('a probe answered with a refusal of our credentials or configuration, a throttle or a failure keeps sending halted; any other answer resumes it', async (t) => {
  const answers: Array<[string, (m: OutgoingMessage[]) => SendOutcome, boolean]> = [
    ['unauthorized', () => UNAUTHORIZED, true],
    ['misconfigured', () => ({ kind: 'misconfigured', status: 404, reason: 'no such path' }), true],
    ['throttled', () => ({ kind: 'throttled', status: 429, retryAfterMs: 1000 }), true],
    ['transient', () => ({ kind: 'transient', reason: 'HTTP 500', ambiguous: false }), true],
    ['sent', sent, false],
    ['refused', () => ({ kind: 'refused', status: 400, reason: 'bad' }), false],
    ['no-credit', () => ({ kind: 'no-credit', status: 402, code: null, reason: 'no credit' }), false],
    ['rejected', (m) => ({ kind: 'rejected', status: 403, code: null, reason: 'blacklisted', recipients: [m[0]!.msisdn] }), false]
  ]
  for (const [kind, probeAnswer, staysHalted] of answers) {
    const h = await setup(t, 1, (m, call) => call === 1 ? UNAUTHORIZED : probeAnswer(m))
    await h.run(async () => h.dispatcher.state().halted !== undefined && await idle(h)())
    await h.dispatcher.stop()
    h.clock.at = T0 + PROBE_MS
    await h.run(() => h.settled.length === 2)
    await h.finish()
    const state = h.dispatcher.state()
    if (staysHalted) {
      t.equal(state.halted, HALT_REASON, `${kind}: still halted`)
      t.equal(state.nextProbeAt, T0 + 2 * PROBE_MS, `${kind}: the next probe a probe interval later`)
    } else t.equal(state.halted, undefined, `${kind}: sending resumed`)
  }
})

t.test('a request in flight when another is refused for credentials does not resume sending by its success: only a probe does', async (t) => {
  const h = await setup(t, 2, (_m, call) => call === 1 ? 'hold' : UNAUTHORIZED, { concurrency: 2, batchSize: 1 })
  h.dispatcher.start()
  const [first] = await h.heldCount(1)
  await until(h.dispatcher, 'settled', () => h.dispatcher.state().halted !== undefined)
  first!.answer(sent(first!.messages))
  await until(h.dispatcher, 'settled', () => h.settled.length === 2)
  t.equal(h.dispatcher.state().halted, HALT_REASON)
  await h.finish()
})

t.test('sending halted in the middle of a split: the parts not sent yet go back to the queue, their attempt refunded', async (t) => {
  const h = await setup(t, 4, (_m, call) => call === 1 ? TOO_LARGE : UNAUTHORIZED)
  await h.run(idle(h))
  await h.finish()
  t.same(h.requests.map((r) => r.length), [4, 2], 'the second half was never sent')
  t.same((await h.messages()).map((m) => [m.state, m.attempts, m.lastError]), [
    ['queued', 0, HALT_REASON],
    ['queued', 0, HALT_REASON],
    ['queued', 0, `not sent: ${HALT_REASON}`],
    ['queued', 0, `not sent: ${HALT_REASON}`]
  ])
})

t.test('stop() in the middle of a split: the part under way is settled, the ones not sent go back to the queue, their attempt refunded', async (t) => {
  const h = await setup(t, 4, (_m, call) => call === 1 ? TOO_LARGE : 'hold')
  h.dispatcher.start()
  const [half] = await h.heldCount(1)
  const stopping = h.dispatcher.stop()
  half!.answer(sent(half!.messages))
  await stopping
  await h.finish()
  t.same(h.requests.map((r) => r.length), [4, 2])
  t.same((await h.messages()).map((m) => [m.state, m.attempts, m.lastError]), [
    ['submitted', 1, null],
    ['submitted', 1, null],
    ['queued', 0, 'not sent: the dispatcher stopped'],
    ['queued', 0, 'not sent: the dispatcher stopped']
  ])
})

t.test('a throttle in the middle of a split: the parts not sent wait for the end of the pause', async (t) => {
  const h = await setup(t, 4, (_m, call) => call === 1 ? TOO_LARGE : { kind: 'throttled', status: 429, retryAfterMs: 5000 })
  await h.run(idle(h))
  await h.finish()
  t.same((await h.messages()).map((m) => [m.state, m.attempts, m.nextAttemptAt, m.lastError]), [
    ['queued', 0, T0 + 5000, 'throttled (HTTP 429)'],
    ['queued', 0, T0 + 5000, 'throttled (HTTP 429)'],
    ['queued', 0, T0 + 5000, 'not sent: sending is paused'],
    ['queued', 0, T0 + 5000, 'not sent: sending is paused']
  ])
})

t.test('a part starts while the claim\'s lease outlasts a whole request, exactly to the end, and not after', async (t) => {
  for (const [spentMs, heldBack] of [[30_000, []], [30_001, [[2, 'not sent yet: the lease ran short while a refused request was being split']]]] as const) {
    const h = await setup(t, 4, (m, call) => {
      if (call === 1) return TOO_LARGE
      if (call === 2) h.clock.at = T0 + spentMs // the first half took this long
      return sent(m)
    })
    await h.run(async () => (await h.messages()).every((m) => m.state === 'submitted'))
    await h.finish()
    t.same(h.rescheduled, heldBack, `${spentMs} ms into a 60 s lease, with requests of up to 30 s`)
    // Held back, the half was due again at once and claimed anew: its attempt was refunded.
    t.same((await h.messages()).map((m) => m.attempts), [1, 1, 1, 1])
  }
})

t.test('a part held back alone is not remembered as a part: claimed again, it goes together with the others', async (t) => {
  const h = await setup(t, 6, (m, call) => {
    if (call === 1) return TOO_LARGE
    if (call === 2) h.clock.at = T0 + 30_001 // the lease runs short: the second half goes back alone
    return sent(m)
  }, { batchSize: 4 })
  await h.run(async () => (await h.messages()).every((m) => m.state === 'submitted'))
  await h.finish()
  t.same(h.requests.map((r) => r.length), [4, 2, 4], 'the half held back and the two others waiting: one request')
})

t.test('422 naming messages: those fail with the provider\'s words, the others go again at once in one request; nothing is sent empty', async (t) => {
  const h = await setup(t, 3, (m, call) => call === 1 ? { kind: 'invalid', invalid: new Map([[m[0]!.reference, 'sender not allowed']]) } : sent(m))
  await h.run(idle(h))
  await h.finish()
  t.same(h.requests.map((r) => r.length), [3, 2])
  t.same((await h.messages()).map((m) => [m.state, m.finalOutcome, m.lastError]), [
    ['failed', 'provider-rejected', 'refused by the provider: sender not allowed'],
    ['submitted', null, null],
    ['submitted', null, null]
  ])

  const all = await setup(t, 2, (m) => ({ kind: 'invalid', invalid: new Map(m.map((x) => [x.reference, 'bad'])) }))
  await all.run(idle(all))
  await all.finish()
  t.equal(all.requests.length, 1, 'all refused: no request after it')
})

t.test('a refused recipient named: its message fails with the code, the others go again in one request; all named, or one unnamed alone, nothing goes again', async (t) => {
  const h = await setup(t, 3, (m, call) => call === 1 ? { kind: 'rejected', status: 403, code: '0x0216', reason: 'MSISDN blacklisted', recipients: [m[1]!.msisdn] } : sent(m))
  await h.run(idle(h))
  await h.finish()
  t.same(h.requests.map((r) => r.map((m) => m.msisdn)), [['4520000000', '4520000001', '4520000002'], ['4520000000', '4520000002']])
  t.same((await h.messages()).map((m) => [m.state, m.lastError]), [['submitted', null], ['failed', 'MSISDN blacklisted'], ['submitted', null]])
  t.match((await h.store.inspect()).reports, [{ outcome: 'provider-rejected', errorCode: '0x0216', errorDetails: 'MSISDN blacklisted' }])

  for (const [what, named] of [['the only recipient named', true], ['a single message, no recipient named', false]] as const) {
    const one = await setup(t, 1, (m) => ({ kind: 'rejected', status: 403, code: null, reason: 'not allowed', recipients: named ? [m[0]!.msisdn] : [] }))
    await one.run(idle(one))
    await one.finish()
    t.equal(one.requests.length, 1, `${what}: no request after it`)
    t.match((await one.messages())[0], { state: 'failed', lastError: 'not allowed' }, what)
    t.match((await one.store.inspect()).reports, [{ errorCode: null }], `${what}: no code given, none reported`)
  }
})

t.test('a single message too large, and a request refused for good: they fail with the status and the provider\'s words, nothing goes again', async (t) => {
  const cases: Array<[SendOutcome, string]> = [
    [TOO_LARGE, 'refused by the provider (HTTP 413): too big'],
    [{ kind: 'refused', status: 400, reason: 'bad request' }, 'refused by the provider (HTTP 400): bad request']
  ]
  for (const [outcome, reason] of cases) {
    const h = await setup(t, 1, () => outcome)
    await h.run(idle(h))
    await h.finish()
    t.equal(h.requests.length, 1, `${outcome.kind}: one request`)
    t.match((await h.messages())[0], { state: 'failed', finalOutcome: 'provider-rejected', lastError: reason })
  }
})

t.test('no credit: the pause is logged once while it lasts, again for a pause begun at its end; messages wait for the pause with the reason', async (t) => {
  for (const [laterAt, lines] of [[T0 + 10, 1], [T0 + NO_CREDIT_MS, 2]] as const) {
    const h = await setup(t, 2, () => 'hold', { concurrency: 2, batchSize: 1 })
    h.dispatcher.start()
    const [a, b] = await h.heldCount(2)
    a!.answer({ kind: 'no-credit', status: 402, code: null, reason: 'insufficient credit' })
    await until(h.dispatcher, 'settled', () => h.settled.length === 1)
    h.clock.at = laterAt
    b!.answer({ kind: 'no-credit', status: 402, code: null, reason: 'insufficient credit' })
    await until(h.dispatcher, 'settled', () => h.settled.length === 2)
    await h.finish()
    t.equal(h.lines().filter((l) => l.level === LEVEL.error && l.msg.startsWith('sending paused: the provider account has no credit left')).length, lines,
      `a second answer ${laterAt - T0} ms after the first: ${lines} line(s)`)
    t.same((await h.messages()).map((m) => [m.state, m.attempts, m.nextAttemptAt, m.lastError]), [
      ['queued', 0, T0 + NO_CREDIT_MS, 'no credit left (HTTP 402): insufficient credit'],
      ['queued', 0, laterAt + NO_CREDIT_MS, 'no credit left (HTTP 402): insufficient credit']
    ])
  }
})

t.test('a throttle never shortens a longer pause; a Retry-After past the cap is paused for the cap and logged as such', async (t) => {
  const h = await setup(t, 2, () => 'hold', { concurrency: 2, batchSize: 1 })
  h.dispatcher.start()
  const [a, b] = await h.heldCount(2)
  a!.answer({ kind: 'throttled', status: 429, retryAfterMs: 10_000 })
  await until(h.dispatcher, 'settled', () => h.settled.length === 1)
  b!.answer({ kind: 'throttled', status: 503, retryAfterMs: 1000 })
  await until(h.dispatcher, 'settled', () => h.settled.length === 2)
  await h.finish()
  t.equal(h.dispatcher.state().pausedUntil, T0 + 10_000, 'the longer pause stands')
  t.same((await h.messages()).map((m) => [m.nextAttemptAt, m.lastError]), [[T0 + 10_000, 'throttled (HTTP 429)'], [T0 + 10_000, 'throttled (HTTP 503)']])

  for (const [asked, message] of [
    [3_600_000, 'provider asked us to slow down; sending paused'],
    [3_600_001, 'provider asked us to slow down for longer than the longest pause we allow; sending paused for that']
  ] as const) {
    const one = await setup(t, 1, () => ({ kind: 'throttled', status: 429, retryAfterMs: asked }))
    await one.run(idle(one))
    await one.finish()
    t.same(one.lines().filter((l) => l.level === LEVEL.warn).map((l) => l.msg), [message], `asked ${asked} ms with a cap of 3,600,000`)
  }
})

t.test('a failed request: retried after its full-jitter backoff; at the last attempt the message fails with the last error; an alert is logged at error', async (t) => {
  const h = await setup(t, 1, () => ({ kind: 'transient', reason: 'HTTP 500', ambiguous: false }), { maxAttempts: 2 })
  await h.run(idle(h))
  await h.dispatcher.stop()
  // First attempt: min(60 s, 1 s × 2^0) = 1 s, half of it with random() = 0.5.
  t.match((await h.messages())[0], { state: 'queued', attempts: 1, nextAttemptAt: T0 + 500, lastError: 'HTTP 500' })
  h.clock.at = T0 + 500
  await h.run(async () => (await h.messages())[0]!.state === 'failed')
  await h.finish()
  t.match((await h.messages())[0], { state: 'failed', finalOutcome: 'send-timeout', attempts: 2, lastError: 'gave up after 2 attempts: HTTP 500' })
  t.same(h.lines().filter((l) => l.msg === 'provider request failed; retrying with backoff').map((l) => l.level), [LEVEL.warn, LEVEL.warn])

  const alerting = await setup(t, 1, () => ({ kind: 'transient', reason: 'HTTP 301 redirect', ambiguous: false, alert: true }))
  await alerting.run(idle(alerting))
  await alerting.finish()
  t.same(alerting.lines().filter((l) => l.msg === 'provider request failed; retrying with backoff').map((l) => l.level), [LEVEL.error])
})

t.test('a message exactly as old as the max age is failed before it is sent', async (t) => {
  const h = await setup(t, 1, sent, { maxAgeMs: 1000 })
  h.clock.at = T0 + 1000
  await h.run(async () => (await h.messages())[0]!.state === 'failed')
  await h.finish()
  t.equal(h.requests.length, 0)
  t.match((await h.messages())[0], { finalOutcome: 'send-timeout', lastError: 'gave up after 0 attempts' })
})

t.test('each message carries its registration\'s expiration when it has one, and none otherwise', async (t) => {
  const withIt = await setup(t, 1, sent, { registrations: [{ id: 'r', expiration: 'P2D' }] })
  await withIt.run(idle(withIt))
  await withIt.finish()
  t.match(withIt.requests[0]![0], { expiration: 'P2D', label: 'r' })
  const without = await setup(t, 1, sent, { registrations: [{ id: 'r' }] })
  await without.run(idle(without))
  await without.finish()
  t.notOk('expiration' in without.requests[0]![0]!, 'no expiration key at all')
})

t.test('the settled event tells how long the request took, no longer than the test waited for it', async (t) => {
  const h = await setup(t, 1, sent)
  const started = performance.now()
  await h.run(idle(h))
  const waited = performance.now() - started
  await h.finish()
  t.equal(h.settled.length, 1)
  const { outcome, rows, durationMs } = h.settled[0]!
  t.same([outcome, rows], ['sent', 1])
  t.ok(durationMs !== undefined && durationMs >= 0 && durationMs <= waited, `${durationMs} ms within the ${waited} ms waited`)
})

t.test('sending() while throttled: paused by the provider until the pause ends, then sending again', async (t) => {
  const h = await setup(t, 1, () => ({ kind: 'throttled', status: 429, retryAfterMs: 5000 }))
  await h.run(idle(h))
  await h.finish()
  t.same(h.dispatcher.sending(), { state: 'paused', cause: 'throttled', until: T0 + 5000 })
  h.clock.at = T0 + 4999
  t.same(h.dispatcher.sending(), { state: 'paused', cause: 'throttled', until: T0 + 5000 }, 'still paused a millisecond before its end')
  h.clock.at = T0 + 5000
  t.same(h.dispatcher.sending(), { state: 'ok' }, 'sending again at its end')
})

t.test('a probe says so in the log; an ordinary claim does not', async (t) => {
  const h = await setup(t, 1, (_m, call) => call === 1 ? UNAUTHORIZED : UNAUTHORIZED)
  await h.run(async () => h.dispatcher.state().halted !== undefined && await idle(h)())
  await h.dispatcher.stop()
  const probeLine = 'sending is halted: trying one request to see whether the provider takes it now'
  t.same(h.lines().filter((l) => l.msg === probeLine), [], 'no probe line for the first, ordinary claim')
  h.clock.at = T0 + PROBE_MS
  await h.run(() => h.settled.length === 2)
  await h.finish()
  t.equal(h.lines().filter((l) => l.msg === probeLine).length, 1, 'one line for the probe')
})

// When the dispatcher looks again: the idle poll is an hour here, so a sleep that ends sooner
// was chosen (a due message, a pause's end, a probe), and one that ends now would spin.

/** The last sleep, once the dispatcher sleeps with no message claimed. */
const restingUntil = async (h: Awaited<ReturnType<typeof setup>>): Promise<number | null> => {
  await until(h.dispatcher, 'sleeping', async () => h.sleeps.length > 0 && h.sleeps.at(-1)!.until !== null && (await h.messages()).every((m) => m.state !== 'sending'))
  return h.sleeps.at(-1)!.until
}

t.test('with nothing in flight, the dispatcher sleeps until the next due message, or for the idle poll when none is due sooner', async (t) => {
  for (const [dueInMs, wakeAt] of [[10_000, T0 + 10_000], [7_200_000, T0 + 3_600_000], [undefined, T0 + 3_600_000]] as const) {
    const h = await setup(t, 1, sent)
    if (dueInMs !== undefined) {
      await h.store.acceptCampaign(
        { registrationId: 'r', idempotencyKey: 'later', batchId: 'later', requestId: 'later', senderId: 'Brand', metadataJson: '{}', scheduledAt: T0 + dueInMs, receivedAt: T0 },
        [{ mobileNumber: '4529999999', customerId: 'later', text: 'later' }])
    }
    h.dispatcher.start()
    t.equal(await restingUntil(h), wakeAt, `a message due in ${dueInMs ?? 'never'} ms`)
    await h.finish()
  }
})

t.test('with a request in flight and a slot free, the dispatcher still sleeps until the next due message', async (t) => {
  const h = await setup(t, 1, () => 'hold', { concurrency: 2 })
  await h.store.acceptCampaign(
    { registrationId: 'r', idempotencyKey: 'later', batchId: 'later', requestId: 'later', senderId: 'Brand', metadataJson: '{}', scheduledAt: T0 + 10_000, receivedAt: T0 },
    [{ mobileNumber: '4529999999', customerId: 'later', text: 'later' }])
  h.dispatcher.start()
  const [first] = await h.heldCount(1)
  t.equal(await h.sleepAfter(0), T0 + 10_000, 'not until the request in flight ends')
  first!.answer(sent(first!.messages))
  await h.finish()
})

t.test('after a failed claim the dispatcher waits for the idle poll, even with messages due', async (t) => {
  const h = await setup(t, 1, sent)
  h.port.claimDue = async () => { throw new Error('the database is unreachable') }
  const slept = once(h.dispatcher, 'sleeping')
  h.dispatcher.start()
  t.same(await slept, [T0 + 3_600_000])
  t.same(h.lines().filter((l) => l.level === LEVEL.error).map((l) => l.msg), ['claiming due work failed; trying again after the idle poll'])
  await h.finish()
})

t.test('while paused, the dispatcher sleeps until the pause ends, though other messages are due; at its end exactly, it sends and sleeps as usual', async (t) => {
  const h = await setup(t, 2, (m, call) => call === 1 ? { kind: 'throttled', status: 429, retryAfterMs: 1000 } : sent(m), { batchSize: 1 })
  h.dispatcher.start()
  t.equal(await h.sleepAfter(1), T0 + 1000, 'until the end of the pause, not the message due now')
  t.equal(h.requests.length, 1, 'nothing sent during the pause')
  h.clock.at = T0 + 1000
  h.dispatcher.wake()
  t.equal(await restingUntil(h), T0 + 1000 + 3_600_000, 'both sent, then the idle poll')
  t.equal(h.requests.length, 3)
  await h.finish()
})

t.test('halted: the dispatcher sleeps until the probe, or until a request in flight ends; one probe at a time', async (t) => {
  const h = await setup(t, 2, () => 'hold', { concurrency: 2, batchSize: 1 })
  h.dispatcher.start()
  const [first, second] = await h.heldCount(2)
  first!.answer(UNAUTHORIZED)
  t.equal(await h.sleepAfter(1), null, 'halted with a request in flight: its end wakes the dispatcher')
  second!.answer(UNAUTHORIZED)
  t.equal(await h.sleepAfter(2), T0 + PROBE_MS, 'halted with nothing in flight: until the probe')

  h.clock.at = T0 + PROBE_MS
  const before = h.sleeps.length
  h.dispatcher.wake()
  await until(h.dispatcher, 'sleeping', () => h.sleeps.length > before)
  t.equal(h.sleeps.at(-1)!.until, null, 'the probe in flight wakes the dispatcher when it ends')
  t.equal(h.requests.length, 3, 'one probe, though another message is due and a slot free')
  const [probe] = (await h.heldCount(3)).slice(2)
  probe!.answer(sent(probe!.messages))
  const [last] = (await h.heldCount(4)).slice(3)
  last!.answer(sent(last!.messages))
  await restingUntil(h)
  t.same((await h.messages()).map((m) => m.state), ['submitted', 'submitted'], 'sending resumed after the probe')
  await h.finish()
})

t.test('two throttles answered at the same instant pause once and say so once', async (t) => {
  const h = await setup(t, 2, () => 'hold', { concurrency: 2, batchSize: 1 })
  h.dispatcher.start()
  const [first, second] = await h.heldCount(2)
  first!.answer({ kind: 'throttled', status: 429, retryAfterMs: 1000 })
  second!.answer({ kind: 'throttled', status: 429, retryAfterMs: 1000 })
  await until(h.dispatcher, 'settled', () => h.settled.length === 2)
  await h.finish()
  t.equal(h.lines().filter((l) => l.msg === 'provider asked us to slow down; sending paused').length, 1)
  t.same(h.dispatcher.sending(), { state: 'paused', cause: 'throttled', until: T0 + 1000 })
})

t.test('a probe made of the parts of a split: when its first part is refused for credentials, the others are not sent', async (t) => {
  // 8 → 4 + 4, the first 4 → 2 + 2; the second 4 halts sending, and the two halves of 2 are remembered.
  const h = await setup(t, 8, (_m, call) => call <= 2 ? TOO_LARGE : UNAUTHORIZED)
  await h.run(async () => h.dispatcher.state().halted !== undefined && await idle(h)())
  await h.dispatcher.stop()
  t.same(h.requests.map((r) => r.length), [8, 4, 4])
  h.clock.at = T0 + PROBE_MS
  await h.run(() => h.settled.length === 4)
  await h.finish()
  t.same(h.requests.map((r) => r.length), [8, 4, 4, 2], 'the probe was the first remembered part, and nothing after it')
  t.equal(h.dispatcher.state().halted, HALT_REASON)
})

t.test('past the bound of remembered parts, the memory is dropped: a split starts over', async (t) => {
  const THROTTLED: SendOutcome = { kind: 'throttled', status: 429, retryAfterMs: 1000 }
  // Each claim of 4: 4 → 2 + 2, the first 2 → 1 + 1, then a throttle leaves the two parts of 1 remembered.
  const h = await setup(t, 8, (m, call) => [1, 2, 4, 5].includes(call) ? TOO_LARGE : [3, 6].includes(call) ? THROTTLED : sent(m), { batchSize: 4, maxRememberedParts: 1 })
  h.dispatcher.start()
  await h.sleepAfter(3)
  h.clock.at = T0 + 1000
  h.dispatcher.wake()
  await h.sleepAfter(6)
  t.same(h.requests.map((r) => r.length), [4, 2, 2, 4, 2, 2])
  h.clock.at = T0 + 2000
  h.dispatcher.wake()
  await restingUntil(h)
  await h.finish()
  t.same(h.requests.slice(6).map((r) => r.length), [4, 1, 1, 2], 'the first claim\'s parts were forgotten (its 4 go together), the second\'s were not')
})

// The concurrency limit, adapted to the provider's answers (see adaptive-concurrency.ts).

t.test('answers that mean overload halve the requests allowed in flight; refusals of the request itself change nothing', async (t) => {
  const answers: Array<[string, (m: OutgoingMessage[]) => SendOutcome, number]> = [
    ['sent', sent, 4],
    ['throttled', () => ({ kind: 'throttled', status: 429, retryAfterMs: 0 }), 2],
    ['transient', () => ({ kind: 'transient', reason: 'HTTP 500', ambiguous: false }), 2],
    ['refused', () => ({ kind: 'refused', status: 400, reason: 'bad' }), 4],
    ['invalid', (m) => ({ kind: 'invalid', invalid: new Map([[m[0]!.reference, 'bad sender']]) }), 4],
    ['rejected', (m) => ({ kind: 'rejected', status: 403, code: null, reason: 'blacklisted', recipients: [m[0]!.msisdn] }), 4],
    ['no-credit', () => ({ kind: 'no-credit', status: 402, code: null, reason: 'no credit' }), 4],
    ['unauthorized', () => UNAUTHORIZED, 4],
    ['too-large', () => TOO_LARGE, 4]
  ]
  for (const [kind, answer, limit] of answers) {
    const h = await setup(t, 1, (m, call) => call === 1 ? answer(m) : 'hold', { concurrency: 4 })
    await h.run(() => h.settled.length > 0)
    t.equal(h.dispatcher.state().concurrencyLimit, limit, kind)
    await h.dispatcher.stop()
  }
})

t.test('a request taken slower than the latency target halves the limit; one taken exactly at the target does not', async (t) => {
  for (const [tookMs, limit] of [[1000, 4], [1001, 2]] as const) {
    const h = await setup(t, 1, (m) => { h.clock.at += tookMs; return sent(m) }, { concurrency: 4, latencyTargetMs: 1000 })
    await h.run(() => h.settled.length > 0)
    await h.finish()
    t.equal(h.dispatcher.state().concurrencyLimit, limit, `${tookMs} ms`)
  }
})

t.test('a burst of throttles halves the requests in flight once; fast answers then raise them by one at a time', async (t) => {
  const h = await setup(t, 30, () => 'hold', { concurrency: 4, batchSize: 1 })
  /** Waits until the dispatcher sleeps with `n` requests in flight, and checks that no more were sent. */
  const inFlight = async (n: number, sentSoFar: number): Promise<void> => {
    await until(h.dispatcher, 'sleeping', () => h.held.length === sentSoFar && h.dispatcher.state().inFlight === n && h.sleeps.at(-1)?.until === null)
    t.equal(h.requests.length, sentSoFar, `${n} in flight, ${sentSoFar} sent in all`)
  }
  h.dispatcher.start()
  await inFlight(4, 4)
  for (const r of h.held.slice(0, 4)) r.answer({ kind: 'throttled', status: 429, retryAfterMs: 0 })
  await inFlight(2, 6)
  t.equal(h.dispatcher.state().concurrencyLimit, 2, 'four throttles of one burst: halved once')
  for (const r of h.held.slice(4, 6)) r.answer(sent(r.messages))
  await inFlight(3, 9)
  t.equal(h.dispatcher.state().concurrencyLimit, 3, 'two fast answers at a limit of two: one more')
  for (const r of h.held.slice(6, 9)) r.answer(sent(r.messages))
  await inFlight(4, 13)
  t.equal(h.dispatcher.state().concurrencyLimit, 4, 'and back to the maximum, never past it')
  for (const r of h.held.slice(9, 13)) r.answer(sent(r.messages))
  await inFlight(4, 17)
  const stopped = h.dispatcher.stop()
  for (const r of h.held.slice(13, 17)) r.answer(sent(r.messages))
  await stopped
})

// A fair share across registrations, and per-registration send rates (see send-rate-caps.ts).

/** Stores a campaign of `n` messages for a registration, its sender named after it, due at T0. */
async function campaignOf (store: Store, registrationId: string, n: number): Promise<void> {
  await store.acceptCampaign(
    { registrationId, idempotencyKey: `k-${registrationId}-${n}`, batchId: 'b', requestId: 'q', senderId: `From-${registrationId}`, metadataJson: '{}', scheduledAt: T0, receivedAt: T0 },
    Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4530000000 + i), customerId: `c${i}`, text: `${registrationId} ${i}` })))
}
/** The registration of each request, by its sender ('Brand' is the setup's registration `r`). */
const senders = (requests: OutgoingMessage[][]): string[] => requests.map((r) => r[0]!.senderId === 'Brand' ? 'r' : r[0]!.senderId.slice('From-'.length))

t.test('claims take turns across registrations: a campaign stored behind a large backlog goes out in the next request', async (t) => {
  const h = await setup(t, 10, (m, call) => call === 1 ? 'hold' : sent(m), { batchSize: 2 })
  h.dispatcher.start()
  const [first] = await h.heldCount(1)
  // While r's first request is in flight, two more registrations store a campaign each.
  await campaignOf(h.store, 't', 1)
  await campaignOf(h.store, 's', 3)
  first!.answer(sent(first!.messages))
  await until(h.dispatcher, 'settled', async () => (await h.messages()).every((m) => m.state === 'submitted'))
  await h.finish()
  t.same(senders(h.requests), ['r', 's', 't', 'r', 's', 'r', 'r', 'r'], 'each registration with due messages has its turn, in name order')
  t.same(h.requests.map((r) => r.length), [2, 2, 1, 2, 1, 2, 2, 2], 'a turn is one request of up to batchSize')
})

t.test('a registration with a send rate gets at most a second\'s worth a claim, and is waited for without holding the others', async (t) => {
  const h = await setup(t, 7, sent, { batchSize: 10, registrations: [{ id: 'r', maxMessagesPerSecond: 2 }, { id: 's' }] })
  await campaignOf(h.store, 's', 3)
  await h.run(() => h.settled.length === 2)
  t.same(senders(h.requests), ['r', 's'], 'r sends its second\'s worth, s is not held by r\'s rate')
  t.same(h.requests.map((r) => r.length), [2, 3])
  t.equal(await h.sleepAfter(2), T0 + 500, 'r waits for its next message\'s allowance (half a second at 2 a second), not the idle poll, nor busy')

  h.clock.at = T0 + 1000
  h.dispatcher.wake()
  await until(h.dispatcher, 'settled', () => h.settled.length === 3)
  t.equal(h.requests[2]!.length, 2, 'a second later: two more')
  t.equal(await h.sleepAfter(3), T0 + 1500)

  h.clock.at = T0 + 60_000
  h.dispatcher.wake()
  await until(h.dispatcher, 'settled', () => h.settled.length === 4)
  t.equal(h.requests[3]!.length, 2, 'a minute\'s wait saves up no more than a second\'s worth')
  t.equal(await h.sleepAfter(4), T0 + 60_500)
  await h.finish()
})
