/**
 * GatewayAPI's API error codes (its "Error code index", codes 0x0100–0x07FF), and what each
 * means for the relay. GatewayAPI answers a refused request with one of these codes; the
 * HTTP status alone does not say whether a 403 is about our token, our account's money, or
 * one recipient, and each needs a different answer: halt, pause, or fail that message.
 */

/**
 * - `credentials`: our token, key or IP address is refused: halt sending, probe until it works.
 * - `account`: the account may not do this at all (SMS not enabled, …): halt like `credentials`.
 * - `recipient`: one recipient may not be texted (blacklisted, country or operator not
 *   allowed): fail that message, send the others.
 * - `no-credit`: the account cannot pay: pause sending, fail nothing.
 * - `request`: the request itself is wrong (a parameter): the request's messages fail.
 */
export type ApiErrorClass = 'credentials' | 'account' | 'recipient' | 'no-credit' | 'request'

/** The documented API error codes, by number, and what each means (GatewayAPI's description beside it). */
export const API_ERROR_CODES: ReadonlyMap<number, ApiErrorClass> = new Map<number, ApiErrorClass>([
  [0x0210, 'credentials'], // Invalid username: %1
  [0x0211, 'credentials'], // Invalid password
  [0x0212, 'credentials'], // Invalid IP-address: %1
  [0x0213, 'credentials'], // Unauthorized IP-address: %1
  [0x0214, 'recipient'], // Temporary blacklist for MSISDN %1 with hash %2
  [0x0215, 'recipient'], // MSISDN %1 blacklisted
  [0x0216, 'no-credit'], // Insufficient credit
  [0x0217, 'recipient'], // Unauthorized destination: country %1
  [0x0218, 'request'], // Unknown message class id %1
  [0x0219, 'account'], // E-mail not enabled for account
  [0x021A, 'account'], // HLR not enabled for account
  [0x021B, 'account'], // Phonebook not enabled for account
  [0x021C, 'account'], // MMS not enabled for account
  [0x021D, 'account'], // SMS not enabled for account
  [0x021E, 'account'], // Message class %1 is not configured for %2
  [0x021F, 'recipient'], // Unauthorized operator: MCC %1, MNC %2
  [0x0220, 'request'], // Unsupported parameter %1
  [0x0221, 'credentials'], // Unsupported signature method %1
  [0x0222, 'request'], // Missing required parameter %1
  [0x0223, 'credentials'], // Invalid Consumer Key
  [0x0224, 'credentials'], // Invalid signature
  [0x0225, 'credentials'], // Expired timestamp
  [0x0226, 'credentials'], // Invalid / used nonce
  [0x0227, 'account'], // No push settings for account %1
  [0x0228, 'account'], // No push setting for VAS ID
  [0x0310, 'request'], // A message contains the same recipient more than once. MSISDNs %1 is duplicated
  [0x0311, 'request'] // Priority %1 not available
])

/** `0x0215`, `0x215`, `533` or `"0x0215"` as a number; undefined when it is none of these. */
export function codeNumber (code: unknown): number | undefined {
  if (typeof code === 'number') return Number.isInteger(code) && code >= 0 ? code : undefined
  if (typeof code !== 'string') return undefined
  const text = code.trim()
  if (/^0x[0-9a-f]{1,8}$/i.test(text)) return Number.parseInt(text, 16) // parseInt reads the 0x itself
  if (/^\d{1,10}$/.test(text)) return Number(text)
  return undefined
}

/** A code as GatewayAPI writes it: `0x` and four upper-case hex digits (`0x021F`). */
export function formatCode (code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, '0')}`
}

// A blacklist must be a recipient's (an IP address on a blacklist is our account's problem).
const RECIPIENT_WORDS = [
  /\b(msisdn|recipient|number|phone)\b[^.;]*\b(black|block)-?list/i,
  /\b(black|block)-?listed (msisdn|recipient|number|phone)/i,
  /unauthori[sz]ed (destination|operator)/i,
  /\b(country|operator|destination|network)\b[^.;]* not (allowed|permitted|supported)/i
]

/**
 * What a refusal means, from its code when GatewayAPI documents it, else from its words: an
 * answer without a known code that speaks of credit, or of a blacklisted number or a
 * destination, country or operator not allowed, is taken at its word. Undefined: it says
 * nothing we can act on, and the HTTP status decides.
 */
export function classifyApiError (code: number | undefined, text: string): ApiErrorClass | undefined {
  const known = API_ERROR_CODES.get(code ?? Number.NaN)
  if (known !== undefined) return known
  if (/insufficient (credit|funds|balance)|out of credit|no credit/i.test(text)) return 'no-credit'
  if (RECIPIENT_WORDS.some((words) => words.test(text))) return 'recipient'
  return undefined
}
