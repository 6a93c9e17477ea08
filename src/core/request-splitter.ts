/**
 * How a refused request is taken apart. GatewayAPI refuses a whole request for one bad
 * recipient (a blacklisted number, a country or operator the account may not text) and does
 * not always say which one; and a request can be too large for it. Neither may cost the
 * other messages anything: the request is split, and only the refused part is split again,
 * until what GatewayAPI refuses is a single message.
 */

/** The two halves of a request's messages (the first the larger by at most one); order kept. */
export function halves<T> (messages: readonly T[]): [T[], T[]] {
  const middle = Math.ceil(messages.length / 2)
  return [messages.slice(0, middle), messages.slice(middle)]
}

/**
 * Separates the messages to the MSISDNs a refusal named from the others. A number named
 * that no message has is ignored: then the refusal does not say which message it meant.
 */
export function byNamedRecipients<T extends { msisdn: string }> (messages: readonly T[], named: readonly string[]): { named: T[]; others: T[] } {
  if (named.length === 0) return { named: [], others: [...messages] }
  const numbers = new Set(named)
  const out = { named: [] as T[], others: [] as T[] }
  for (const m of messages) (numbers.has(m.msisdn) ? out.named : out.others).push(m)
  return out
}

/** GatewayAPI's `label` is at most 128 characters (code points, as its schema counts them). */
export const LABEL_MAX_CHARS = 128

/** A label cut to GatewayAPI's limit. */
export function providerLabel (name: string): string {
  const chars = Array.from(name)
  return chars.length <= LABEL_MAX_CHARS ? name : chars.slice(0, LABEL_MAX_CHARS).join('')
}
