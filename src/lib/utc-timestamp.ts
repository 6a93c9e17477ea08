/**
 * ISO-8601 date-times as peers send them, read the same way whatever the process's time zone.
 *
 * `Date.parse` reads a date-time without a zone designator as local time, so the same event
 * would mean another instant on a server set to another zone. GatewayAPI's times carry
 * `+00:00`, but a zone-less one is UTC by every peer's convention (Optimove's `sentAt` is written
 * that way too): this parser reads it as UTC, and never consults the local zone.
 *
 * Accepted: `YYYY-MM-DD`, then optionally `T` (or a space) `hh:mm`, `:ss`, a fraction of any
 * length (`.` or `,`; cut to milliseconds), and a zone `Z` / `±hh` / `±hh:mm` / `±hhmm`.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/

/** Epoch milliseconds of `text`, or undefined when it is not such a date-time (or not a string). */
export function parseUtcTimestamp (text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined
  const m = DATE_TIME.exec(text.trim())
  if (m === null) return undefined
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part))) as number[]
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  if (month! < 1 || month! > 12 || day! < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  // setUTCFullYear, not Date.UTC, which would read years 0–99 as 1900–1999.
  const date = new Date(0)
  date.setUTCFullYear(year!, month! - 1, day!)
  date.setUTCHours(hour, minute, second, ms)
  // 31 February would roll over into March; such a date is refused, not moved.
  if (date.getUTCDate() !== day) return undefined
  const local = date.getTime()
  const offset = zoneOffsetMs(m[8])
  if (offset === undefined) return undefined
  return local - offset
}

/** The zone's offset from UTC in milliseconds: none or `Z` is UTC. */
function zoneOffsetMs (zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const hours = Number(digits.slice(0, 2))
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
  if (hours > 23 || minutes > 59) return undefined
  return sign * (hours * 60 + minutes) * 60_000
}
