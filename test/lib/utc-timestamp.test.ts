import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parseUtcTimestamp } from '../../src/lib/utc-timestamp.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const at = Date.UTC(2025, 3, 1, 11, 49, 12)

t.test('GatewayAPI\'s form, Z, other offsets and no zone at all', async (t) => {
  t.equal(parseUtcTimestamp('2025-04-01T11:49:12.005021+00:00'), at + 5, 'microseconds cut to milliseconds')
  t.equal(parseUtcTimestamp('2025-04-01T11:49:12Z'), at)
  t.equal(parseUtcTimestamp('2025-04-01T11:49:12'), at, 'no zone: UTC')
  t.equal(parseUtcTimestamp('2025-04-01T11:49:12.5'), at + 500)
  t.equal(parseUtcTimestamp('2025-04-01 11:49:12'), at, 'a space for the T')
  t.equal(parseUtcTimestamp('2025-04-01T11:49'), at - 12_000, 'no seconds')
  t.equal(parseUtcTimestamp('2025-04-01'), Date.UTC(2025, 3, 1))
  t.equal(parseUtcTimestamp('2025-04-01T13:49:12+02:00'), at)
  t.equal(parseUtcTimestamp('2025-04-01T13:49:12+0200'), at)
  t.equal(parseUtcTimestamp('2025-04-01T08:49:12-03'), at)
  t.equal(parseUtcTimestamp('  2025-04-01T11:49:12Z  '), at, 'surrounding blanks')
  t.equal(parseUtcTimestamp('0099-01-01T00:00:00Z'), new Date('0099-01-01T00:00:00Z').getTime(), 'years below 100 are not moved to the 1900s')
})

t.test('what is not a date-time is undefined, never a guess', async (t) => {
  for (const value of ['', 'yesterday', '2025-02-30T00:00:00', '2025-13-01', '2025-04-01T24:00:00', '2025-04-01T11:60:00', '2025-04-01T11:49:12+25:00', '1743508152', 1743508152000, null, undefined, {}]) {
    t.equal(parseUtcTimestamp(value), undefined, JSON.stringify(value) ?? 'undefined')
  }
})

t.test('under a zone that is not UTC, a zone-less time is still UTC (Date.parse would read it as local)', async (t) => {
  // A child process with its own TZ: the zone is fixed before anything in it reads the clock.
  const script = `
    import { parseUtcTimestamp } from './src/lib/utc-timestamp.ts'
    console.log(JSON.stringify({
      offsetMinutes: new Date(${at}).getTimezoneOffset(),
      dateParse: Date.parse('2025-04-01T11:49:12'),
      ours: parseUtcTimestamp('2025-04-01T11:49:12'),
      withZone: parseUtcTimestamp('2025-04-01T11:49:12.005021+00:00')
    }))`
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, TZ: 'America/New_York' }
  })
  const seen = JSON.parse(stdout)
  t.equal(seen.offsetMinutes, 240, 'the child really runs in New York time (EDT, UTC-4, on that day)')
  t.equal(seen.dateParse, at + 4 * 3600_000, 'Date.parse reads the zone-less time as local: four hours off')
  t.equal(seen.ours, at, 'parseUtcTimestamp reads it as UTC')
  t.equal(seen.withZone, at + 5)
})
