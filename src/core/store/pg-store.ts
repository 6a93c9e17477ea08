import { randomUUID } from 'node:crypto'
import type { MessageState, OutboxState, PruneResult, Store, StoreStats } from './store.js'
import { PG_CONNECTION_TIMEOUT_MS, createPgPool, type PgPoolOptions } from './pg-pool.js'
import { applyPgMigrations } from './pg-migrations.js'
import { createPgIntake } from './pg-intake.js'
import { createPgRelay } from './pg-relay.js'
import { createPgEvents } from './pg-events.js'
import { createPgOutbox } from './pg-outbox.js'
import { createPgPrune } from './pg-prune.js'
import { createPgSweep } from './pg-sweep.js'
import { createPgInspect, createPgParked } from './pg-inspect.js'
import { createPgReplicas } from './pg-replicas.js'
import { createPgWorkSignals } from './pg-work-signals.js'
import { createPgOperator } from './pg-operator.js'
import { keyedState } from './pg-keyed-plans.js'

export interface PgStoreOptions extends PgPoolOptions {
  /**
   * Remember which registrations text which numbers, so that a reply can be routed to its
   * registration. Only worth its intake cost when there are several registrations.
   */
  recipientIndex?: boolean
  /** This process's name among the replicas on the database, recorded by its claims (default: a random UUID). */
  instanceId?: string
}

// Every count in one statement, so from one snapshot. The claimed messages are found by key,
// never through the queued index, whose statistics may be those of an empty queue (pg-keyed-plans.ts).
const COUNTS = `
  SELECT 'messages' AS tally, state, count(*) AS n FROM messages GROUP BY state
  UNION ALL SELECT 'reports', state, count(*) FROM reports GROUP BY state
  UNION ALL SELECT 'incoming', state, count(*) FROM incoming_messages GROUP BY state
  UNION ALL SELECT 'batches', '', count(*) FROM batches
  UNION ALL SELECT 'claimed', '', count(*) FROM claims c, unnest(c.message_ids, c.attempts) AS u (id, attempts)
    JOIN messages m ON m.id = u.id AND ${keyedState('m', 'queued')} AND m.attempts = u.attempts`

/**
 * The store on PostgreSQL, for several processes (replicas) sharing one database: its schema
 * migrated at open (once, however many processes open together), a pool of connections, claims
 * that never hand one row to two processes, and every write set-based (one statement however
 * many rows). A commit is durable when it resolves, as PostgreSQL's own commit is. Its work
 * signals go to the other stores on the same schema (LISTEN/NOTIFY).
 */
export async function openPgStore (options: PgStoreOptions): Promise<Store> {
  const instanceId = options.instanceId ?? randomUUID()
  const pool = createPgPool(options)
  let schema: string
  try {
    await applyPgMigrations(pool)
    schema = (await pool.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema
  } catch (err) {
    await pool.end()
    throw err
  }
  const accept = createPgIntake(pool, { rememberRecipients: options.recipientIndex === true })
  const relay = createPgRelay(pool, instanceId)
  const events = createPgEvents(pool)
  const outbox = createPgOutbox(pool, instanceId)
  const replicas = createPgReplicas(pool, instanceId)
  const signals = createPgWorkSignals(pool, {
    url: options.url,
    schema,
    instanceId,
    connectionTimeoutMs: options.connectionTimeoutMs ?? PG_CONNECTION_TIMEOUT_MS,
    ...(options.onConnectionError === undefined ? {} : { onConnectionError: options.onConnectionError })
  })
  const prune = createPgPrune(pool)
  const sweep = createPgSweep(pool)
  const inspect = createPgInspect(pool)
  const parked = createPgParked(pool)
  const operator = createPgOperator(pool)
  let closed = false
  /** Every call after close() is refused, as the other adapters refuse it, even one that would touch nothing. */
  const open = <A extends unknown[], R>(method: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    closed ? Promise.reject(new Error('the store is closed')) : method(...args)
  /** Runs a chunk step until it finds nothing left; the rows it touched. */
  const inChunks = async (step: () => Promise<number>): Promise<number> => {
    let total = 0
    for (let n = await step(); n > 0; n = await step()) total += n
    return total
  }

  return {
    instanceId,
    acceptCampaign: open(accept),
    claimDue: open(relay.claimDue),
    markSubmitted: open(relay.markSubmitted),
    reschedule: open((items, error, now, opts = {}) => relay.reschedule(items, error, now, opts.refundAttempt === true ? 1 : 0)),
    fail: open(relay.fail),
    nextDueAt: open(relay.nextDueAt),
    recordWebhookEvent: open(events.recordWebhookEvent),
    registrationsOfRecipient: open(events.registrationsOfRecipient),
    claimReports: open(outbox.claimReports),
    claimIncoming: open(outbox.claimIncoming),
    settleOutbox: open((name, settlement, now) => outbox.settle(name, settlement, now)),
    endUnconfirmed: open(async (cutoffs, otherwise, now) => {
      let ended = 0
      for (const c of cutoffs) ended += await inChunks(() => sweep.registrationChunk(c.registrationId, c.submittedBefore, now))
      ended += await inChunks(() => sweep.othersChunk(cutoffs.map((c) => c.registrationId), otherwise, now))
      return ended
    }),
    prune: open(async (cutoff, recipientCutoff = cutoff) => {
      const deleted: PruneResult = { webhookEvents: 0, reports: 0, incoming: 0, messages: 0, batches: 0, recipients: 0 }
      for (const [table, step] of prune(cutoff, recipientCutoff)) deleted[table] += await inChunks(step)
      return deleted
    }),
    stats: open(async (): Promise<StoreStats> => {
      const stats: StoreStats = {
        batches: 0,
        messages: { queued: 0, sending: 0, submitted: 0, final: 0, failed: 0 },
        reports: { pending: 0, sending: 0, done: 0, parked: 0 },
        incoming: { pending: 0, sending: 0, done: 0, parked: 0 }
      }
      for (const { tally, state, n } of (await pool.query<{ tally: string; state: string; n: number }>(COUNTS)).rows) {
        if (tally === 'batches') stats.batches = n
        else if (tally === 'messages') stats.messages[state as MessageState] = n
        else if (tally === 'claimed') stats.messages.sending = n
        else stats[tally as 'reports' | 'incoming'][state as OutboxState] = n
      }
      stats.messages.queued -= stats.messages.sending
      return stats
    }),
    heartbeat: open(replicas.heartbeat),
    retireInstance: open(replicas.retireInstance),
    leaseJob: open(replicas.leaseJob),
    signalWork: open(signals.signalWork),
    listenForWork: open(signals.listenForWork),
    ping: open(async () => { await pool.query('SELECT 1') }),
    inspect: open(async (opts = {}) => inspect(opts.limit)),
    parked: open(async (opts = {}) => parked(opts.limit)),
    lookupBatches: open(operator.lookupBatches),
    lookupMessages: open(async (key, limit) => key === '' ? [] : operator.lookupMessages(key, limit)),
    requeueParked: open(operator.requeueParked),
    cancelBatch: open(operator.cancelBatch),
    setRegistrationPaused: open(operator.setRegistrationPaused),
    pausedRegistrations: open(operator.pausedRegistrations),
    erasePhoneNumber: open(operator.erasePhoneNumber),
    setSuppressed: open(operator.setSuppressed),
    suppressions: open(operator.suppressions),
    async close () {
      if (closed) return
      closed = true
      await signals.stopListening()
      await pool.end()
    }
  }
}
