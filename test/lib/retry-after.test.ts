import t from 'tap'
import { parseRetryAfter } from '../../src/lib/retry-after.js'

// A pinned "now" on a whole second, so that HTTP dates (second precision) give exact waits.
const NOW = Date.UTC(2025, 3, 1, 11, 50, 0)
const httpDate = (ms: number): string => new Date(ms).toUTCString()

t.test('delta-seconds become milliseconds', async (t) => {
  t.equal(parseRetryAfter('0', NOW), 0, '"0": retry at once')
  t.equal(parseRetryAfter('5', NOW), 5000)
  t.equal(parseRetryAfter(' 7 ', NOW), 7000, 'surrounding whitespace is tolerated')
  t.equal(parseRetryAfter('120', NOW), 120_000)
})

t.test('an HTTP date in the future is the time left until then, from the given now', async (t) => {
  t.equal(parseRetryAfter(httpDate(NOW + 30_000), NOW), 30_000)
  t.equal(parseRetryAfter('Tue, 01 Apr 2025 11:50:07 GMT', NOW), 7000)
  t.equal(parseRetryAfter(httpDate(NOW + 30_000), NOW + 10_000), 20_000, 'measured from now, not from the system clock')
})

t.test('an HTTP date in the past (or now) means no wait, never a negative one', async (t) => {
  t.equal(parseRetryAfter(httpDate(NOW - 60_000), NOW), 0)
  t.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0)
  t.equal(parseRetryAfter(httpDate(NOW), NOW), 0)
})

t.test('absent, empty or unreadable values are undefined, so the caller\'s default applies', async (t) => {
  t.equal(parseRetryAfter(undefined, NOW), undefined, 'absent')
  t.equal(parseRetryAfter('', NOW), undefined, 'empty')
  t.equal(parseRetryAfter('   ', NOW), undefined, 'blank')
  t.equal(parseRetryAfter([], NOW), undefined, 'empty array')
  for (const garbage of ['soon', 'tomorrow', '5s', '1e3', '0x10', 'Retry in 1 minute']) {
    t.equal(parseRetryAfter(garbage, NOW), undefined, JSON.stringify(garbage))
  }
})

t.test('a repeated header uses its first value', async (t) => {
  t.equal(parseRetryAfter(['4', '9'], NOW), 4000)
  t.equal(parseRetryAfter([httpDate(NOW + 2000), '9'], NOW), 2000)
  t.equal(parseRetryAfter(['soon', '9'], NOW), undefined, 'an unreadable first value is not replaced by the second')
})

// RFC 9110 §10.2.3: delay-seconds is 1*DIGIT. A lenient date parser would read these as dates
// in 2001, i.e. "retry now" instead of "use the default": against a throttling provider.
t.test('values that are neither delta-seconds nor an HTTP date are unreadable', async (t) => {
  for (const garbage of ['1.5', '-5', '+5', '5,6', 'foo 1', '2025-04-01']) {
    t.equal(parseRetryAfter(garbage, NOW), undefined, JSON.stringify(garbage))
  }
})

t.test('the obsolete RFC 850 and asctime date forms are read as GMT', async (t) => {
  const at = Date.UTC(2030, 0, 2, 3, 4, 5)
  t.equal(parseRetryAfter('Wednesday, 02-Jan-30 03:04:05 GMT', at - 7000), 7000)
  t.equal(parseRetryAfter('Wed Jan  2 03:04:05 2030', at - 9000), 9000)
  t.equal(parseRetryAfter('Sat Jan 12 03:04:05 2030', at - 9000), 10 * 86_400_000 + 9000, 'asctime with a two-digit day')
})

t.test('a date form with anything before or after it is unreadable, not half read', async (t) => {
  const now = Date.UTC(2030, 0, 1)
  for (const value of [
    'x Wed, 02 Jan 2030 03:04:05 GMT', 'Wed, 02 Jan 2030 03:04:05 GMT x',
    'x Wednesday, 02-Jan-30 03:04:05 GMT', 'Wednesday, 02-Jan-30 03:04:05 GMT x',
    'x Wed Jan  2 03:04:05 2030', 'Wed Jan  2 03:04:05 2030 x',
    // Trailing text a lenient date parser would still read: the form itself must refuse it.
    'Wed, 02 Jan 2030 03:04:05 GMT+0100', 'Wednesday, 02-Jan-30 03:04:05 GMT+0100', 'Wed Jan  2 03:04:05 2030 1'
  ]) t.equal(parseRetryAfter(value, now), undefined, value)
})
