export interface BackoffPolicy {
  /** Delay scale of the first retry, in milliseconds. */
  baseMs: number
  /** Upper bound of any one delay, in milliseconds. */
  capMs: number
}

/**
 * "Full jitter": a uniformly random delay in [0, min(cap, base × 2^attempt)), so that
 * many clients retrying at once spread out instead of stampeding together.
 * `attempt` counts from 0 for the first retry; `random` returns [0, 1).
 */
export function fullJitterDelay (policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 52))
  return Math.floor(random() * ceiling)
}

// Kept here for the callers that wait out a backoff; it lives with the other timer helpers.
export { delay } from './timers.js'
