/**
 * Longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days). Node fires a longer one
 * after 1 ms, with a TimeoutOverflowWarning: a "wait a year" would become a busy loop.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** A computed delay made safe for `setTimeout`: NaN and negatives become 0, longer ones the maximum. */
export function timerDelay (ms: number): number {
  if (!(ms > 0)) return 0
  return Math.min(ms, MAX_TIMER_DELAY_MS)
}

/**
 * `setTimeout` for a computed delay, clamped by `timerDelay`: a delay beyond the maximum fires
 * at the maximum (early), so callers that must wait longer re-arm when it fires.
 */
export function setBoundedTimeout (callback: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(callback, timerDelay(ms))
}

/**
 * Resolves after `ms` (in steps of at most MAX_TIMER_DELAY_MS, so any length is waited in
 * full), or rejects with the signal's reason as soon as it aborts.
 */
export function delay (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    let timer: NodeJS.Timeout | undefined
    let remaining = ms
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const arm = (): void => {
      const step = timerDelay(remaining)
      remaining -= step
      timer = setTimeout(() => {
        if (remaining > 0) return arm()
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, step)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    arm()
  })
}
