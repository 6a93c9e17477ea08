import type Database from 'better-sqlite3'
import { isBusyError } from './busy-retry.js'

interface Entry<I, O> { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }

/**
 * Group commit: writes that arrive together (within one turn of the event loop, or up to
 * `maxItems`) share one transaction and so one fsync, and each caller is answered once that
 * transaction is durable. Each write runs in its own savepoint, so one failing write fails
 * alone. One fsync per HTTP request would cap a webhook near a few thousand requests a second.
 * While another connection holds the lock, a group is tried again after short pauses (the
 * event loop free meanwhile) until `busyBudgetMs` has passed, then its callers are refused.
 */
export function createGroupCommit<I, O> (
  db: Database.Database,
  apply: (item: I) => O,
  options: { maxItems?: number; busyBudgetMs?: number } = {}
): { write(item: I): Promise<O>; flush(): void; close(): void } {
  const maxItems = options.maxItems ?? 512
  const busyBudgetMs = options.busyBudgetMs ?? 1500
  let queue: Array<Entry<I, O>> = []
  let scheduled = false
  const waiting = new Map<NodeJS.Timeout, Array<Entry<I, O>>>()
  const applyOne = db.transaction(apply)

  const commit = (batch: Array<Entry<I, O>>, deadline: number): void => {
    const outcomes: Array<{ ok: true; value: O } | { ok: false; error: unknown }> = []
    try {
      db.transaction(() => {
        for (const entry of batch) {
          try {
            outcomes.push({ ok: true, value: applyOne(entry.item) })
          } catch (error) {
            outcomes.push({ ok: false, error })
          }
        }
      }).immediate()
    } catch (error) {
      const left = deadline - Date.now()
      if (isBusyError(error) && left > 0 && db.open) {
        const timer: NodeJS.Timeout = setTimeout(() => {
          waiting.delete(timer)
          commit(batch, deadline)
        }, Math.min(10, left))
        waiting.set(timer, batch)
        return
      }
      for (const entry of batch) entry.reject(error)
      return
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) entry.resolve(outcome.value)
      else entry.reject(outcome.error)
    })
  }

  const flush = (): void => {
    scheduled = false
    if (queue.length === 0) return
    const batch = queue
    queue = []
    commit(batch, Date.now() + busyBudgetMs)
  }

  return {
    write (item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject })
        if (queue.length >= maxItems) flush()
        else if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      })
    },
    flush,
    /** Commits what is queued now; groups still waiting for a lock are refused. */
    close (): void {
      flush()
      for (const [timer, batch] of waiting) {
        clearTimeout(timer)
        for (const entry of batch) entry.reject(new Error('the store is closed'))
      }
      waiting.clear()
    }
  }
}
