import t from 'tap'
import { eventOutsideWindow, MAX_FUTURE_SKEW_MS } from '../../src/gatewayapi/event-window.js'

const NOW = 1_700_000_000_000
const MAX_AGE = 72 * 3_600_000

t.test('an event is taken from its maximum age up to 5 minutes ahead of our clock, both ends included', async (t) => {
  t.equal(MAX_FUTURE_SKEW_MS, 300_000)
  t.equal(eventOutsideWindow(NOW, NOW, MAX_AGE), undefined)
  t.equal(eventOutsideWindow(NOW + MAX_FUTURE_SKEW_MS, NOW, MAX_AGE), undefined, '5 minutes ahead')
  t.equal(eventOutsideWindow(NOW - MAX_AGE, NOW, MAX_AGE), undefined, 'exactly the maximum age')
  t.equal(eventOutsideWindow(undefined, NOW, MAX_AGE), undefined, 'no timestamp: the parser decides')
})

t.test('outside the window: future or stale, each saying so', async (t) => {
  t.same(eventOutsideWindow(NOW + MAX_FUTURE_SKEW_MS + 1, NOW, MAX_AGE), { outcome: 'future', message: 'event timestamp is more than 5 minutes in the future' })
  t.same(eventOutsideWindow(NOW - MAX_AGE - 1, NOW, MAX_AGE), { outcome: 'stale', message: 'event timestamp is older than 259200 seconds' })
})
