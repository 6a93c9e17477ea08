import { getEventListeners } from 'node:events'
import t from 'tap'
import { delay, fullJitterDelay, type BackoffPolicy } from '../../src/lib/backoff.js'

const policy: BackoffPolicy = { baseMs: 100, capMs: 10_000 }
/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - 2 ** -53
const lowest = (): number => 0
const highest = (): number => ALMOST_ONE

t.test('fullJitterDelay: random 0 gives no delay', async (t) => {
  for (const attempt of [0, 1, 5, 30, 1000]) {
    t.equal(fullJitterDelay(policy, attempt, lowest), 0, `attempt ${attempt}`)
  }
})

t.test('fullJitterDelay: the largest random stays just under the ceiling', async (t) => {
  t.equal(fullJitterDelay(policy, 0, highest), 99, 'attempt 0: ceiling is the base (100)')
  t.equal(fullJitterDelay(policy, 0, () => 0.999), 99)
  t.ok(fullJitterDelay(policy, 0, highest) < policy.baseMs, 'never reaches the ceiling itself')
})

t.test('fullJitterDelay: the ceiling doubles per attempt until the cap', async (t) => {
  // base 100: 100, 200, 400, ... 6400, then 12800 is capped at 10000.
  const expectedCeilings = [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
  expectedCeilings.forEach((ceiling, attempt) => {
    t.equal(fullJitterDelay(policy, attempt, highest), ceiling - 1, `attempt ${attempt}: just under ${ceiling}`)
    t.equal(fullJitterDelay(policy, attempt, () => 0.5), ceiling / 2, `attempt ${attempt}: half-way is ${ceiling / 2}`)
  })
})

t.test('fullJitterDelay: the result is a whole number of milliseconds in [0, ceiling)', async (t) => {
  const samples = [0, 0.1, 0.123456789, 0.5, 0.77, 0.9, ALMOST_ONE]
  for (let attempt = 0; attempt < 12; attempt++) {
    const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt)
    for (const r of samples) {
      const d = fullJitterDelay(policy, attempt, () => r)
      t.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `attempt ${attempt}, random ${r}: ${d} in [0, ${ceiling})`)
    }
  }
})

t.test('fullJitterDelay: draws one random number per delay', async (t) => {
  let calls = 0
  fullJitterDelay(policy, 3, () => { calls++; return 0.25 })
  t.equal(calls, 1)
})

t.test('fullJitterDelay: huge attempt numbers stay finite and capped', async (t) => {
  for (const attempt of [52, 53, 1024, 1_000_000, Number.MAX_SAFE_INTEGER, Infinity]) {
    const top = fullJitterDelay(policy, attempt, highest)
    t.ok(Number.isFinite(top), `attempt ${attempt}: finite (${top})`)
    t.equal(top, policy.capMs - 1, `attempt ${attempt}: just under the cap`)
    t.equal(fullJitterDelay(policy, attempt, lowest), 0, `attempt ${attempt}: random 0 still gives 0`)
  }
  // Even a large base with a huge attempt does not overflow past the cap.
  const big: BackoffPolicy = { baseMs: 1e300, capMs: 60_000 }
  const d = fullJitterDelay(big, 10_000, highest)
  t.ok(Number.isFinite(d), 'finite with a huge base')
  t.equal(d, 59_999)
})

t.test('delay resolves', async (t) => {
  t.equal(await delay(0), undefined, 'without a signal')
  const controller = new AbortController()
  t.equal(await delay(1, controller.signal), undefined, 'with a signal that never aborts')
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'leaves no abort listener behind once resolved')
  // Aborting after it resolved changes nothing (no late rejection).
  controller.abort()
})

t.test('delay rejects as soon as its signal aborts', async (t) => {
  const controller = new AbortController()
  // An hour: only the abort can end this promise within the test's lifetime.
  const pending = delay(3_600_000, controller.signal)
  let settled: { error: unknown } | undefined
  pending.then(
    () => { settled = { error: new Error('resolved instead of rejecting') } },
    (error: unknown) => { settled = { error } }
  )
  t.equal(getEventListeners(controller.signal, 'abort').length, 1, 'listens for abort while pending')
  await Promise.resolve()
  t.equal(settled, undefined, 'still pending before the abort')

  const reason = new Error('shutting down')
  controller.abort(reason)
  // The rejection is already queued by abort() itself: one microtask turn, no timer, is enough.
  await Promise.resolve()
  t.ok(settled, 'settled on the next microtask after abort')
  t.equal(settled?.error, reason, 'rejects with the signal\'s reason')
  await t.rejects(pending, reason)
  // The hour-long timer was cleared: otherwise this test process could not exit until it fired.
})

t.test('delay rejects with an AbortError when aborted without a reason', async (t) => {
  const controller = new AbortController()
  const pending = delay(3_600_000, controller.signal)
  controller.abort()
  await t.rejects(pending, { name: 'AbortError' })
})

t.test('delay rejects immediately when its signal is already aborted', async (t) => {
  const reason = new Error('already gone')
  const signal = AbortSignal.abort(reason)
  await t.rejects(delay(3_600_000, signal), reason)
  t.equal(getEventListeners(signal, 'abort').length, 0, 'adds no listener to an aborted signal')
})
