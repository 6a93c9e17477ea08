import t, { type Test } from 'tap'
import { delay, MAX_TIMER_DELAY_MS, setBoundedTimeout, timerDelay } from '../../src/lib/timers.js'
import { overflowWarnings } from '../helper.js'

const YEAR_MS = 365 * 24 * 3600 * 1000
/** Lets pending callbacks and process warnings (emitted on the next tick) run; no time passes. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))


t.test('timerDelay keeps a delay within setTimeout\'s range', async (t) => {
  t.equal(MAX_TIMER_DELAY_MS, 2 ** 31 - 1)
  t.equal(timerDelay(1500), 1500)
  t.equal(timerDelay(0), 0)
  t.equal(timerDelay(-20), 0, 'a moment already past: at once')
  t.equal(timerDelay(Number.NaN), 0)
  t.equal(timerDelay(YEAR_MS), MAX_TIMER_DELAY_MS)
  t.equal(timerDelay(Number.POSITIVE_INFINITY), MAX_TIMER_DELAY_MS)
})

t.test('setBoundedTimeout with a year: no overflow warning, and it does not fire at once', async (t) => {
  const warnings = overflowWarnings(t)
  let fired = false
  const timer = setBoundedTimeout(() => { fired = true }, YEAR_MS)
  t.teardown(() => clearTimeout(timer))
  await settle()
  await settle()
  t.equal(fired, false, 'an overflowing setTimeout would have fired after 1 ms')
  t.same(warnings, [], 'no TimeoutOverflowWarning')
})

t.test('setBoundedTimeout with a short delay fires', async (t) => {
  await new Promise<void>((resolve) => setBoundedTimeout(resolve, 1))
  t.pass('fired')
})

t.test('delay longer than setTimeout\'s range: waits (no overflow warning) until aborted', async (t) => {
  const warnings = overflowWarnings(t)
  const controller = new AbortController()
  let resolved = false
  const pending = delay(YEAR_MS, controller.signal).then(() => { resolved = true })
  await settle()
  await settle()
  t.equal(resolved, false, 'still waiting')
  t.same(warnings, [])
  controller.abort(new Error('stopping'))
  await t.rejects(pending, { message: 'stopping' })
})
