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

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function delay (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
