import type pg from 'pg'
import { inTransaction, type Queryable } from './pg-pool.js'
import { createWriteBatcher, type PendingWrite } from './write-batcher.js'

type Entry<I, O> = PendingWrite<I, O>

export interface PgGroupCommitOptions<I> {
  /** Writes in one group at most (default 256). */
  maxItems?: number
  /**
   * The order in which a group applies its writes, so that two groups committing at once lock
   * rows in one order and never wait on each other in a cycle (default: as they came).
   */
  lockOrder?: (a: I, b: I) => number
}

/**
 * Group commit on PostgreSQL, as `group-commit.ts` does it on SQLite: writes that arrive
 * together (within one turn of the event loop, up to `maxItems`) share one transaction, so one
 * commit and one WAL flush, and each caller is answered once that commit is durable. Groups run
 * side by side, each on a connection of the pool. When a group fails, each of its writes is
 * tried again alone (a transaction of its own), so that one failing write fails alone and the
 * others are stored.
 */
export function createPgGroupCommit<I, O> (
  pool: pg.Pool,
  apply: (on: Queryable, item: I) => Promise<O>,
  options: PgGroupCommitOptions<I> = {}
): { write(item: I): Promise<O> } {
  const alone = (entry: Entry<I, O>): void => {
    apply(pool, entry.item).then(entry.resolve, entry.reject)
  }

  const commit = (batch: Array<Entry<I, O>>): void => {
    if (batch.length === 1) return alone(batch[0]!)
    const ordered = options.lockOrder === undefined ? batch : [...batch].sort((a, b) => options.lockOrder!(a.item, b.item))
    inTransaction(pool, async (client) => {
      const outcomes: O[] = []
      for (const entry of ordered) outcomes.push(await apply(client, entry.item))
      return outcomes
    }).then((outcomes) => {
      ordered.forEach((entry, i) => entry.resolve(outcomes[i]!))
    }, () => {
      for (const entry of ordered) alone(entry)
    })
  }

  const { write } = createWriteBatcher(commit, options.maxItems ?? 256)
  return { write }
}
