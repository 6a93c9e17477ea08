/**
 * Lenient readers of the webhook fields we pass on but do not act on. GatewayAPI adds fields
 * and shapes over time (RCS replies carry `content` as a string, an SMS reply as an object,
 * an RCS status's `error` is any object), and a field we merely forward must never cost us an
 * event: each reader takes what is usable and ignores the rest.
 */

/** A status's `error`: `{hex_code, details}` as documented, any other object, or a bare string. */
export function readError (value: unknown): { code: string | null; details: string | null } | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : { code: null, details: value }
  if (!isRecord(value)) return undefined
  const code = firstText(value.hex_code, value.code, value.error_code)
  const details = firstText(value.details, value.description, value.message, value.error)
  return code === null && details === null ? undefined : { code, details }
}

/**
 * A reply's text: `content` as a string (RCS text), `content.message` (SMS; null is an empty
 * text), `content.text`; an RCS location as a `geo:` URI (RFC 5870); an RCS file as its link.
 * Anything else is an empty text: the reply still tells Optimove that the customer answered.
 */
export function replyText (content: unknown): string {
  if (typeof content === 'string') return content
  if (!isRecord(content)) return ''
  for (const value of [content.message, content.text]) {
    if (typeof value === 'string') return value
    if (typeof value === 'number') return String(value)
  }
  if (isFiniteNumber(content.latitude) && isFiniteNumber(content.longitude)) return `geo:${content.latitude},${content.longitude}`
  for (const file of [content.payload, content.thumbnail]) {
    if (isRecord(file) && typeof file.uri === 'string') return file.uri
  }
  return ''
}

/**
 * A party's address as Optimove should see it: a phone number (a JSON number, or a string of
 * digits with an optional `+`/`00` and separators) as its digits, anything else (an
 * alphanumeric sender, a keyword) trimmed as given. Undefined when there is nothing.
 */
export function readAddress (value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? String(value) : undefined
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  // Without a letter or a digit it names nobody.
  if (!/[\p{L}\p{N}]/u.test(text)) return undefined
  if (/^\+?[\d\s().-]+$/.test(text)) {
    const digits = text.replace(/\D/g, '').replace(/^00/, '')
    return digits === '' ? undefined : digits
  }
  return text
}

/** How two addresses compare: digits as digits, names without regard to case. */
export function addressKey (value: string): string {
  return (readAddress(value) ?? value).toLowerCase()
}

/** The first of `values` that is a non-empty string or a number, as text. */
function firstText (...values: unknown[]): string | null {
  for (const value of values) {
    if (typeof value === 'string' && value.trim() !== '') return value
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  }
  return null
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isFiniteNumber (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
