// The three HTTP-date forms of RFC 9110 §5.6.7: IMF-fixdate, RFC 850 and asctime.
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/
const RFC850 = /^[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or in any other form, so that the caller's default applies.
 */
export function parseRetryAfter (header: string | string[] | undefined, now: number): number | undefined {
  // Absent and empty are simply unreadable: no form below matches them.
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? ''
  if (/^\d+$/.test(value)) return Number(value) * 1000
  let at = Number.NaN
  if (IMF_FIXDATE.test(value) || RFC850.test(value)) at = Date.parse(value)
  // asctime has no zone but means GMT.
  else if (ASCTIME.test(value)) at = Date.parse(`${value} GMT`)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}
