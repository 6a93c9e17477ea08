import type Database from 'better-sqlite3'
import { retryWhileBusy } from './busy-retry.js'
import { createWriteBatcher, type PendingWrite } from './write-batcher.js'

type Entry<I, O> = PendingWrite<I, O>

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
): { write(item: I): Promise<O>; flush(): void } {
  const maxItems = options.maxItems ?? 512
  const busyBudgetMs = options.busyBudgetMs ?? 1500
  const applyOne = db.transaction(apply)

  /** The group in one transaction; each write in its own savepoint, so one failing write fails alone. */
  const applyGroup = (batch: Array<Entry<I, O>>): Array<{ ok: true; value: O } | { ok: false; error: unknown }> => {
    const outcomes: Array<{ ok: true; value: O } | { ok: false; error: unknown }> = []
    db.transaction(() => {
      for (const entry of batch) {
        try {
          outcomes.push({ ok: true, value: applyOne(entry.item) })
        } catch (error) {
          outcomes.push({ ok: false, error })
        }
      }
    }).immediate()
    return outcomes
  }

  // The first try runs at once (retryWhileBusy calls it synchronously); the store's own busy
  // retry repeats it while another connection holds the lock, and a closed database ends it.
  const commit = (batch: Array<Entry<I, O>>): void => {
    retryWhileBusy(() => applyGroup(batch), busyBudgetMs).then((outcomes) => {
      batch.forEach((entry, i) => {
        const outcome = outcomes[i]!
        if (outcome.ok) entry.resolve(outcome.value)
        else entry.reject(outcome.error)
      })
    }, (error: unknown) => {
      for (const entry of batch) entry.reject(error)
    })
  }

  return createWriteBatcher(commit, maxItems)
}
