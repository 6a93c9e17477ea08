import t from 'tap'
import { RegistrationPauses } from '../../src/core/registration-pauses.js'

const pause = (until: number, reason = 'HTTP 429', alert = false) => ({ until, reason, alert })

t.test('a paused registration is excluded from claims until its pause ends, then probed', async (t) => {
  const pauses = new RegistrationPauses()
  t.equal(pauses.pause('a', pause(1000)), true, 'a new pause is worth a log line')
  t.same(pauses.excluded(999), ['a'])
  t.equal(pauses.admit('a', 999), 'paused')
  t.equal(pauses.pausedUntil('a', 999), 1000)
  t.same(pauses.snapshot(999), [{ registration: 'a', state: 'paused', until: 1000, reason: 'HTTP 429' }])

  t.same(pauses.excluded(1000), [], 'its pause over at its end')
  t.equal(pauses.pausedUntil('a', 1000), undefined)
  t.same(pauses.snapshot(1000), [{ registration: 'a', state: 'probing' }])
  t.equal(pauses.admit('a', 1000), 'go', 'one probe')
  t.equal(pauses.admit('a', 1000), 'held', 'while it is out, no other request')
  pauses.ended('a')
  t.equal(pauses.admit('a', 1000), 'go', 'a probe that ended otherwise (retried) frees the slot')
  t.equal(pauses.succeeded('a'), true, 'a probe that went through ends the pause, worth a log line')
  t.same(pauses.snapshot(1000), [])
  t.equal(pauses.admit('a', 1000), 'go')
  t.equal(pauses.admit('a', 1000), 'go', 'no longer one at a time')
  t.equal(pauses.succeeded('a'), false, 'a request of a registration not paused ends nothing')
})

t.test('other registrations are never held back', async (t) => {
  const pauses = new RegistrationPauses()
  pauses.pause('a', pause(1000))
  t.same(pauses.excluded(500), ['a'])
  t.equal(pauses.admit('b', 500), 'go')
  t.equal(pauses.pausedUntil('b', 500), undefined)
})

t.test('a longer pause is kept; a pause again while paused or probing is no new pause', async (t) => {
  const pauses = new RegistrationPauses()
  pauses.pause('a', pause(5000, 'long'))
  t.equal(pauses.pause('a', pause(2000, 'short')), false, 'already paused')
  t.equal(pauses.pausedUntil('a', 0), 5000, 'the longer pause stays')
  t.equal(pauses.pause('a', pause(9000, 'longer')), false)
  t.equal(pauses.pausedUntil('a', 0), 9000, 'a longer one replaces it')
  pauses.excluded(9000)
  t.equal(pauses.admit('a', 9000), 'go', 'probing')
  t.equal(pauses.pause('a', pause(12_000)), false, 'a refused probe pauses again, no new line')
  t.equal(pauses.admit('a', 11_000), 'paused', 'and its slot is free again once the pause ends')
  pauses.excluded(12_000)
  t.equal(pauses.admit('a', 12_000), 'go')
})

t.test('a pause is over at its end, whether or not a claim has looked yet; an equal pause keeps the first reason', async (t) => {
  const pauses = new RegistrationPauses()
  pauses.pause('a', pause(1000, 'first'))
  t.equal(pauses.pause('a', pause(1000, 'second')), false)
  t.same(pauses.snapshot(999), [{ registration: 'a', state: 'paused', until: 1000, reason: 'first' }])
  t.equal(pauses.admit('a', 1000), 'go')
  t.equal(pauses.pausedUntil('a', 1000), undefined)
  t.same(pauses.snapshot(1000), [])
})
