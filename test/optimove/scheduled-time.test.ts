import t from 'tap'
import { readScheduledTime } from '../../src/optimove/scheduled-time.js'

const AT = Date.UTC(2025, 5, 1, 10, 0, 0) // 2025-06-01T10:00:00Z

t.test('epoch milliseconds as a number or a numeric string, or an ISO-8601 date-time', async (t) => {
  const cases: Array<[unknown, number, string]> = [
    [AT, AT, 'a JSON number'],
    [String(AT), AT, 'a numeric string'],
    [` ${AT} `, AT, 'a numeric string with spaces'],
    [AT + 0.7, AT, 'a fraction of a millisecond is cut'],
    ['2025-06-01T10:00:00Z', AT, 'ISO with Z'],
    ['2025-06-01T10:00:00', AT, 'ISO without a zone is UTC'],
    ['2025-06-01 10:00:00', AT, 'a space for the T'],
    ['2025-06-01T10:00', AT, 'no seconds'],
    ['2025-06-01T12:00:00+02:00', AT, 'an offset'],
    ['2025-06-01T12:00:00+0200', AT, 'an offset without colon'],
    ['2025-06-01T12:00:00+02', AT, 'an offset in hours'],
    ['2025-06-01T04:30:00-05:30', AT, 'a negative half-hour offset'],
    ['2025-06-01T10:00:00.1234567Z', AT + 123, '.NET\'s seven fraction digits, cut to milliseconds'],
    ['2025-06-01', Date.UTC(2025, 5, 1), 'a date alone is its midnight UTC']
  ]
  for (const [value, at, why] of cases) t.same(readScheduledTime(value), { kind: 'at', at }, `${why}: ${JSON.stringify(value)}`)
})

t.test('absent, null or empty: no schedule', async (t) => {
  for (const value of [undefined, null, '']) t.same(readScheduledTime(value), { kind: 'none' }, String(value))
})

t.test('anything else is unreadable, named for the log', async (t) => {
  const cases: Array<[unknown, string]> = [
    ['tomorrow', 'tomorrow'],
    ['2025-02-30T10:00:00Z', '2025-02-30T10:00:00Z'],
    ['2025-06-01T25:00:00', '2025-06-01T25:00:00'],
    [true, 'true'],
    [{ at: 1 }, '(an object)'],
    [[1], '(an array)']
  ]
  for (const [value, given] of cases) t.same(readScheduledTime(value), { kind: 'unreadable', given }, JSON.stringify(value))
})
