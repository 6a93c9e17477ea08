import { setTimeout as sleep } from 'node:timers/promises'

/**
 * How long SQLite itself may block the calling thread waiting for another connection's lock:
 * not at all. SQLite's busy wait is a sleep on the thread that runs the event loop (even slices
 * of 20 ms, taken in turn by the loops that retry, held `/health` up for 200 ms); waits happen
 * in `retryWhileBusy` instead, asynchronously, with the event loop free in between.
 */
export const SQLITE_BUSY_SLICE_MS = 0

/** True for SQLite's "database is locked" family (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, ...). */
export function isBusyError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}

/**
 * Runs a synchronous unit of store work (one transaction) and, while another connection holds
 * the lock, runs it again after short asynchronous pauses until `budgetMs` has passed; then the
 * last busy error is thrown, so that a webhook can answer 503 and its peer retry.
 */
export async function retryWhileBusy<T> (work: () => T, budgetMs: number): Promise<T> {
  const deadline = Date.now() + budgetMs
  let pauseMs = 2
  for (;;) {
    try {
      return work()
    } catch (err) {
      const left = deadline - Date.now()
      if (!isBusyError(err) || left <= 0) throw err
      await sleep(Math.min(pauseMs, left))
      pauseMs = Math.min(pauseMs * 2, 50)
    }
  }
}
