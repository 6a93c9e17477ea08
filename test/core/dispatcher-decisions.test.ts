import t, { type Test } from 'tap'
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
  t.teardown(() => dispatcher.stop())
  const lines = (): LogLine[] => log.lines().map((l) => JSON.parse(l) as LogLine)
  const messages = async (): Promise<MessageRecord[]> => (await memory.inspect()).messages
  return {
    store: memory,
    clock,
    dispatcher,
    requests,
    held,
    settled,
    /** Each reschedule the dispatcher asked of the store: how many messages, and why. */
    rescheduled,
    lines,
    messages,
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
