/** A write waiting for its group's commit, and how to answer its caller. */
export interface PendingWrite<I, O> { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }

/**
 * Gathers the writes that arrive together (within one turn of the event loop, or `maxItems`)
 * and hands each group to `commit`, which answers every caller: the queue under both stores'
 * group commits.
 */
export function createWriteBatcher<I, O> (commit: (group: Array<PendingWrite<I, O>>) => void, maxItems: number): { write(item: I): Promise<O>; flush(): void } {
  let queue: Array<PendingWrite<I, O>> = []
  let scheduled = false

  const flush = (): void => {
    scheduled = false
    if (queue.length === 0) return
    const group = queue
    queue = []
    commit(group)
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
    /** Commits what is queued now. */
    flush
  }
}
