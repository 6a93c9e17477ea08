import type { DeliveryResult } from '../core/outbox-worker.js'
import { parseRetryAfter } from '../lib/retry-after.js'
import { describeOptimoveError } from './handshake-client.js'
import { redirectReason, type OptimoveReply } from './signed-post.js'

/** Optimove's validation-problem body: the only 4xx that says this very row will never be taken. */
function isValidationProblem (body: unknown): boolean {
  const errors = (body as { errors?: unknown } | null | undefined)?.errors
  return typeof errors === 'object' && errors !== null && Object.keys(errors).length > 0
}

/**
 * What an answer of Optimove to a delivery report or a reply means for the rows it carried
 * (the README's decisions):
 * - 2xx, and 409 (Optimove already has it): done;
 * - 429: pause this registration's outbox for `Retry-After`;
 * - 401, 403, 404: pause this registration's outbox and probe it again later (its credentials
 *   or base URL are wrong; the rows wait, intact, for the fix);
 * - 400 with a validation body: park the row (Optimove will never take it as it is);
 * - 3xx and other 4xx: retry with backoff, and alert (a misconfiguration, never a silent loss);
 * - 5xx: retry with backoff.
 */
export function classifyOptimoveAnswer (reply: OptimoveReply, now: number): DeliveryResult {
  const { status } = reply
  if ((status >= 200 && status < 300) || status === 409) return { kind: 'done' }
  const reason = `HTTP ${status}: ${describeOptimoveError(reply.body)}`
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(reply.retryAfter, now)
    return { kind: 'pause', reason, alert: false, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
  }
  if (status === 401 || status === 403 || status === 404) return { kind: 'pause', reason, alert: true }
  if (status >= 300 && status < 400) {
    return { kind: 'retry', reason: redirectReason(reply), alert: true }
  }
  if (status === 400 && isValidationProblem(reply.body)) return { kind: 'park', reason }
  if (status >= 500) return { kind: 'retry', reason }
  return { kind: 'retry', reason, alert: true }
}
