import t from 'tap'
import { jobLease } from '../../src/core/job-lease.js'
import { Pruner } from '../../src/core/pruner.js'
import { FinalStatusSweeper } from '../../src/core/final-status-sweeper.js'
import type { MaintenanceStore, ReplicaStore } from '../../src/core/store/store.js'
import { createLogger } from '../../src/logger.js'

// Jobs that run on one replica at a time: the lease asked before each pass, and a pass skipped
// while another replica holds it.

t.test('jobLease asks for the job\'s lease from now for leaseMs', async (t) => {
  const asked: unknown[] = []
  const store = { leaseJob: async (...args: unknown[]) => { asked.push(args); return asked.length === 1 } } as unknown as ReplicaStore
  const mayRun = jobLease(store, 'prune', { now: () => 5000 }, 120_000)
  t.equal(await mayRun(), true)
  t.equal(await mayRun(), false)
  t.same(asked, [['prune', 5000, 125_000], ['prune', 5000, 125_000]])
})

/** A maintenance store that counts passes. */
function counting () {
  const calls = { prune: 0, sweep: 0 }
  const store = {
    prune: async () => { calls.prune++; return { webhookEvents: 0, reports: 0, incoming: 0, messages: 0, batches: 0, recipients: 0 } },
    endUnconfirmed: async () => { calls.sweep++; return 0 }
  } as unknown as MaintenanceStore
  return { store, calls }
}

for (const holds of [true, false]) {
  t.test(`pruning and the final-status sweep ${holds ? 'run when this replica holds their lease' : 'skip their pass while another replica holds it'}`, async (t) => {
    const { store, calls } = counting()
    const asked: string[] = []
    const mayRun = (job: string) => async () => { asked.push(job); return holds }
    const common = { store, clock: { now: () => 1_700_000_000_000 }, logger: createLogger('silent') }
    await new Pruner({ ...common, retentionMs: 1000, intervalMs: 60_000, mayRun: mayRun('prune') }).runOnce()
    t.equal(await new FinalStatusSweeper({ ...common, expirations: [], graceMs: 0, intervalMs: 60_000, mayRun: mayRun('sweep') }).runOnce(), 0)
    t.same(asked, ['prune', 'sweep'], 'each asked before its pass')
    t.same(calls, holds ? { prune: 1, sweep: 1 } : { prune: 0, sweep: 0 })
  })
}
