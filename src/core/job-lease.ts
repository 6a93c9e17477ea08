import type { Clock } from '../lib/clock.js'
import type { ReplicaStore } from './store/store.js'

/**
 * Whether this replica runs the next pass of `job`, a job that must run on one replica at a
 * time (pruning, the final-status sweep): it takes or renews the job's lease for `leaseMs`. Asked
 * before each pass; the replica holding the lease keeps it as long as it renews in time (make
 * `leaseMs` longer than the interval between passes), and another takes it over once it lapses.
 */
export function jobLease (store: ReplicaStore, job: string, clock: Clock, leaseMs: number): () => Promise<boolean> {
  return () => {
    const now = clock.now()
    return store.leaseJob(job, now, now + leaseMs)
  }
}
