/** How far ahead of our clock an event's timestamp may be (clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

/**
 * GatewayAPI's timestamp policy for a webhook event: one created more than 5 minutes ahead of
 * us, or longer ago than `maxAgeMs` (longer than its id is remembered), is refused; one without
 * a usable timestamp is judged by the parser (kept as unusable). Undefined: within the window.
 */
export function eventOutsideWindow (createdAt: number | undefined, now: number, maxAgeMs: number): { outcome: 'future' | 'stale'; message: string } | undefined {
  if (createdAt === undefined) return undefined
  if (createdAt > now + MAX_FUTURE_SKEW_MS) return { outcome: 'future', message: 'event timestamp is more than 5 minutes in the future' }
  if (createdAt < now - maxAgeMs) return { outcome: 'stale', message: `event timestamp is older than ${Math.round(maxAgeMs / 1000)} seconds` }
  return undefined
}
