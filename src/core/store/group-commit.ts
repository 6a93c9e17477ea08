import type Database from 'better-sqlite3'

/**
 * Group commit: writes that arrive together (within one turn of the event loop, or up to
 * `maxItems`) share one transaction and so one fsync, and each caller is answered once that
 * transaction is durable. Each write runs in its own savepoint, so one failing write fails
 * alone. One fsync per HTTP request would cap a webhook near a few thousand requests a second.
 */
export function createGroupCommit<I, O> (db: Database.Database, apply: (item: I) => O, maxItems = 512): { write(item: I): Promise<O>; flush(): void } {
  let queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = []
  let scheduled = false
  const applyOne = db.transaction(apply)

  const flush = (): void => {
    scheduled = false
    if (queue.length === 0) return
    const batch = queue
    queue = []
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
      for (const entry of batch) entry.reject(error)
      return
    }
    batch.forEach((entry, i) => {
      const outcome = outcomes[i]!
      if (outcome.ok) entry.resolve(outcome.value)
      else entry.reject(outcome.error)
    })
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
    flush
  }
}
