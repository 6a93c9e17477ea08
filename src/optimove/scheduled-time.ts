/**
 * `metadata.scheduledTime`, read liberally: Optimove's older docs say epoch milliseconds, and
 * real bodies carry it as a JSON number, as a numeric string, or as an ISO-8601 date-time.
 * `at` is epoch milliseconds; `none` means no schedule (send now); `unreadable` is something
 * else, which the caller logs and treats as "now", since a schedule it cannot read must not
 * refuse a campaign that Optimove would then retry for ever.
 */
export type ScheduledTime =
  | { kind: 'at'; at: number }
  | { kind: 'none' }
  | { kind: 'unreadable'; given: string }

const NUMERIC = /^\s*-?\d+(?:\.\d+)?\s*$/
/**
 * `2025-06-01`, `2025-06-01T10:00`, `2025-06-01 10:00:00.1234567Z`, `…+02:00`, `…+0200`, `…+02`.
 * Groups: year, month, day, hour, minute, second, fraction, zone.
 */
const ISO_8601 = /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?\s*$/i

/** The longest text kept of an unreadable value, for the log. */
const GIVEN_PREVIEW = 100

export function readScheduledTime (value: unknown): ScheduledTime {
  if (value === undefined || value === null || value === '') return { kind: 'none' }
  if (typeof value === 'number') return Number.isFinite(value) ? { kind: 'at', at: Math.trunc(value) } : unreadable(value)
  if (typeof value !== 'string') return unreadable(value)
  if (NUMERIC.test(value)) return { kind: 'at', at: Math.trunc(Number(value)) }
  const at = parseIsoDateTime(value)
  return at === undefined ? unreadable(value) : { kind: 'at', at }
}

/**
 * An ISO-8601 date or date-time; a time without a zone is UTC (Optimove's times are, and
 * `Date.parse` would read it in the server's local zone). Fractions past milliseconds (.NET
 * writes seven digits) are cut. Undefined when it is not one, or names a day that does not exist.
 */
export function parseIsoDateTime (text: string): number | undefined {
  const m = ISO_8601.exec(text)
  if (m === null) return undefined
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone = 'Z'] = m
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'))
  const fields = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)] as const
  const local = Date.UTC(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], ms)
  // Date.UTC rolls 2025-02-30 over into March: a field that changed was out of range.
  const check = new Date(local)
  if (check.getUTCMonth() !== fields[1] || check.getUTCDate() !== fields[2] || check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] || check.getUTCSeconds() !== fields[5]) return undefined
  return local - zoneOffsetMs(zone)
}

/** `Z` → 0; `+02:00`, `+0200`, `+02` → 2 h; `-05:30` → -5.5 h. */
function zoneOffsetMs (zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
  return sign * (hours * 60 + minutes) * 60_000
}

function unreadable (value: unknown): ScheduledTime {
  if (typeof value === 'string') return { kind: 'unreadable', given: value.slice(0, GIVEN_PREVIEW) }
  if (typeof value === 'number' || typeof value === 'boolean') return { kind: 'unreadable', given: String(value) }
  // An object or array is named, not serialised: it may be large.
  return { kind: 'unreadable', given: Array.isArray(value) ? '(an array)' : '(an object)' }
}
