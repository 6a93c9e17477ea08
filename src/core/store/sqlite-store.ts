import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import type { AcceptResult, MessageState, NewBatch, NewMessage, OutboxState, PruneResult, Store, StoreStats } from './store.js'
import { MIGRATIONS, type Migration } from './migrations.js'
import { createRelayQueries } from './sqlite-relay.js'
import { createEventQueries } from './sqlite-events.js'
import { createOutboxQueries } from './sqlite-outbox.js'
import { createGroupCommit } from './group-commit.js'
import { createInspectQueries, createParkedQueries } from './sqlite-inspect.js'
import { createPruneQueries } from './sqlite-prune.js'
import { createSweepQueries } from './sqlite-sweep.js'
import { createReportQueue } from './sqlite-report-queue.js'
import { createReplicaQueries } from './sqlite-replicas.js'
import { createOperatorQueries } from './sqlite-operator.js'
import { SQLITE_BUSY_SLICE_MS, retryWhileBusy } from './busy-retry.js'

export interface SqliteStoreOptions {
  /** A file path, or `:memory:` for a throw-away database. */
  path: string
  /**
   * How long a call waits for another process's lock before it fails (default 1500 ms).
   * The wait is asynchronous: SQLite blocks the thread for at most `SQLITE_BUSY_SLICE_MS` at a time.
   */
  busyTimeoutMs?: number
  migrations?: Migration[]
  /**
   * Remember which registrations text which numbers, so that a reply can be routed to its
   * registration. Only worth its intake cost when there are several registrations.
   */
  recipientIndex?: boolean
  /** This process's name among the replicas on the database, recorded by its claims (default: a random UUID). */
  instanceId?: string
}

/** Turns `sqlite:./data/x.db`, `file:./x.db` or a bare path into a file path. */
export function sqlitePathFromUrl (url: string): string {
  return url.replace(/^(sqlite|file):(\/\/)?/, '')
}

/**
 * The store on SQLite: WAL for concurrent readers, `synchronous=FULL` so that a commit
 * is on disk before we answer (a SIGKILL or power cut after a 200 loses nothing). SQLite cannot
 * signal another process: `signalWork` sends nothing and `listenForWork` never calls its listener.
 */
export function openSqliteStore (options: SqliteStoreOptions): Store {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
  const db = new Database(options.path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  const busyMs = options.busyTimeoutMs ?? 1500
  // Opening may wait longer: nothing is served before the schema is in place.
  db.pragma(`busy_timeout = ${Math.max(busyMs, 5000)}`)
  applyMigrations(db, options.migrations ?? MIGRATIONS)
  // Replaced by the recipient_registrations memory.
  db.exec('DROP INDEX IF EXISTS messages_recipient')
  const rememberRecipients = options.recipientIndex === true
  const instanceId = options.instanceId ?? randomUUID()
  db.pragma(`busy_timeout = ${SQLITE_BUSY_SLICE_MS}`)
  const patiently = <T>(work: () => T): Promise<T> => retryWhileBusy(work, busyMs)
  /**
   * Runs a transaction whose loss in a power cut costs no more than a SIGKILL does (a claim: at
   * worst its messages are sent again, as after any crash mid-request) without waiting for the
   * disk; the next durable commit writes it down too, as the log is written in order.
   */
  const syncNormal = db.prepare('PRAGMA synchronous = NORMAL')
  const syncFull = db.prepare('PRAGMA synchronous = FULL')
  const unsynced = <T>(work: () => T): T => {
    // Prepared once: a statement per call would hold native memory until the garbage collector came by.
    syncNormal.run()
    try {
      return work()
    } finally {
      syncFull.run()
    }
  }
  /** Runs a chunk step (its own short transaction) until it finds nothing left, the event loop free in between; the rows it touched. */
  const inChunks = async (step: () => number): Promise<number> => {
    let total = 0
    for (let n = await patiently(step); n > 0; n = await patiently(step)) {
      total += n
      await new Promise((resolve) => setImmediate(resolve))
    }
    return total
  }

  const findBatch = db.prepare<[string, string], StoredKey>(
    'SELECT accepted_count, rejected_count, body_hash FROM batches WHERE registration_id = ? AND idempotency_key = ?')
  // An older key form names the same batch only when its ids are this batch's ids.
  const findLegacyBatch = db.prepare<[string, string, string, string], StoredKey>(`
    SELECT accepted_count, rejected_count, body_hash FROM batches
    WHERE registration_id = ? AND idempotency_key = ? AND request_id = ? AND batch_id = ?`)
  const insertBatch = db.prepare<unknown[], { id: number }>(`
    INSERT INTO batches (uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata,
                         scheduled_at, accepted_count, rejected_count, received_at, body_hash, trace_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (registration_id, idempotency_key) DO NOTHING
    RETURNING id`)
  const insertMessage = db.prepare<unknown[], { id: number }>(`
    INSERT INTO messages (batch_id, registration_id, reference, mobile_number, given_number, customer_id, body, state, next_attempt_at,
                          final_outcome, last_error, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    RETURNING id`)
  const storedKeyOf = (batch: NewBatch): StoredKey | undefined => {
    const current = findBatch.get(batch.registrationId, batch.idempotencyKey)
    if (current !== undefined) return current
    for (const key of batch.legacyIdempotencyKeys ?? []) {
      const legacy = findLegacyBatch.get(batch.registrationId, key, batch.requestId, batch.batchId)
      if (legacy !== undefined) return legacy
    }
    return undefined
  }
  const queueReport = createReportQueue(db)
  const rememberRecipient = db.prepare(`
    INSERT INTO recipient_registrations (msisdn, registration_id, last_sent_at) VALUES (?, ?, ?)
    ON CONFLICT (msisdn, registration_id) DO UPDATE SET last_sent_at = excluded.last_sent_at`)

  const accept = db.transaction((batch: NewBatch, messages: NewMessage[]): AcceptResult => {
    const existing = storedKeyOf(batch)
    if (existing !== undefined) return duplicateOf(existing, batch)
    const rejected = messages.reduce((n, m) => (m.failure === undefined ? n : n + 1), 0)
    const accepted = messages.length - rejected
    const uid = randomBytes(9).toString('base64url')
    const row = insertBatch.get(uid, batch.registrationId, batch.idempotencyKey, batch.batchId, batch.requestId,
      batch.senderId, batch.metadataJson, batch.scheduledAt, accepted, rejected, batch.receivedAt, batch.bodyHash ?? null, batch.traceId ?? null)
    // Another process won the race for this key between our read and our write.
    if (row === undefined) return duplicateOf(findBatch.get(batch.registrationId, batch.idempotencyKey)!, batch)
    const now = batch.receivedAt
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!
      const reference = `${uid}-${i}`
      const given = m.givenNumber ?? null
      if (m.failure === undefined) {
        insertMessage.run(row.id, batch.registrationId, reference, m.mobileNumber, given, m.customerId, m.text, 'queued', batch.scheduledAt, null, null, now, now)
        if (rememberRecipients) rememberRecipient.run(m.mobileNumber, batch.registrationId, now)
      } else {
        const message = insertMessage.get(row.id, batch.registrationId, reference, m.mobileNumber, given, m.customerId, m.text, 'failed', batch.scheduledAt,
          m.failure.outcome, m.failure.reason, now, now)!
        queueReport({ messageId: message.id, outcome: m.failure.outcome, statusAt: now, errorDetails: m.failure.reason, now })
      }
    }
    return { duplicate: false, conflict: false, accepted, rejected }
  })

  const countMessages = db.prepare<[], { state: MessageState; n: number }>('SELECT state, COUNT(*) AS n FROM messages GROUP BY state')
  // Queued messages held by a claim read as sending (see withClaimsShown).
  const countClaimed = db.prepare<[], { n: number }>(`
    SELECT COUNT(*) AS n FROM claims c, json_each(c.message_ids) j JOIN messages m ON m.id = j.value
    WHERE m.state = 'queued' AND m.attempts = json_extract(c.attempts, '$[' || j.key || ']')`)
  const countBatches = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM batches')
  const ping = db.prepare('SELECT 1')
  const sendersOf = db.prepare<[string], { registration_id: string }>(
    'SELECT registration_id FROM recipient_registrations WHERE msisdn = ? ORDER BY last_sent_at DESC, registration_id')
  const relay = createRelayQueries(db, instanceId)
  const prune = createPruneQueries(db)
  const sweep = createSweepQueries(db)
  const events = createGroupCommit(db, createEventQueries(db), { busyBudgetMs: busyMs })
  const outbox = createOutboxQueries(db, instanceId)
  const replicas = createReplicaQueries(db, instanceId)
  const inspect = createInspectQueries(db)
  const parked = createParkedQueries(db)
  const operator = createOperatorQueries(db)
  /** SQLite cannot signal another process: nothing to do, but refused once closed, as every other call is. */
  const nothingToSignal = async (): Promise<void> => {
    if (!db.open) throw new TypeError('The database connection is not open')
  }
  const countOutbox = (table: string) => db.prepare<[], { state: OutboxState; n: number }>(`SELECT state, COUNT(*) AS n FROM ${table} GROUP BY state`)
  const countReports = countOutbox(outbox.tables.reports)
  const countIncoming = countOutbox(outbox.tables.incoming)
  const outboxCounts = (statement: typeof countReports): Record<OutboxState, number> => {
    const counts: Record<OutboxState, number> = { pending: 0, sending: 0, done: 0, parked: 0 }
    for (const { state, n } of statement.all()) counts[state] = n
    return counts
  }

  return {
    instanceId,
    acceptCampaign: (batch, messages) => patiently(() => accept.immediate(batch, messages)),
    claimDue: (now, limit, leaseMs, scope) => patiently(() => unsynced(() => relay.claimDue(now, limit, leaseMs, scope))),
    markSubmitted: (results, now) => patiently(() => { relay.markSubmitted.immediate(results, now) }),
    reschedule: (items, error, now, options = {}) =>
      patiently(() => { relay.reschedule.immediate(items, error, now, options.refundAttempt === true ? 1 : 0) }),
    fail: (items, now) => patiently(() => { relay.fail.immediate(items, now) }),
    nextDueAt: (excluded, only) => patiently(() => relay.nextDueAt(excluded, only)),
    async endUnconfirmed (cutoffs, otherwise, now) {
      const chunk = 1000
      let ended = 0
      for (const c of cutoffs) ended += await inChunks(() => sweep.registrationChunk.immediate(c.registrationId, c.submittedBefore, now, chunk))
      ended += await inChunks(() => sweep.othersChunk.immediate(cutoffs.map((c) => c.registrationId), otherwise, now, chunk))
      return ended
    },
    recordWebhookEvent: (event) => events.write(event),
    claimReports: (now, limit, leaseMs, maxBytes, excluded) => patiently(() => unsynced(() => outbox.claimReports(now, limit, leaseMs, maxBytes, excluded))),
    claimIncoming: (now, limit, leaseMs, maxBytes, excluded) => patiently(() => unsynced(() => outbox.claimIncoming(now, limit, leaseMs, maxBytes, excluded))),
    settleOutbox: (name, settlement, now) => patiently(() => { outbox.settle.immediate(name, settlement, now) }),
    async prune (cutoff, recipientCutoff = cutoff) {
      const deleted: PruneResult = { webhookEvents: 0, reports: 0, incoming: 0, messages: 0, batches: 0, recipients: 0 }
      for (const [table, step] of prune(cutoff, recipientCutoff)) deleted[table] += await inChunks(step)
      return deleted
    },
    heartbeat: (now, deadBefore) => patiently(() => replicas.heartbeat(now, deadBefore)),
    retireInstance: () => patiently(() => replicas.retireInstance()),
    leaseJob: (job, now, until) => patiently(() => replicas.leaseJob(job, now, until)),
    signalWork: () => nothingToSignal(),
    listenForWork: async () => {
      await nothingToSignal()
      return async () => {}
    },
    registrationsOfRecipient: (msisdn) => patiently(() => sendersOf.all(msisdn).map((r) => r.registration_id)),
    ping: () => patiently(() => { ping.get() }),
    stats: () => patiently((): StoreStats => {
      const messages: Record<MessageState, number> = { queued: 0, sending: 0, submitted: 0, final: 0, failed: 0 }
      for (const { state, n } of countMessages.all()) messages[state] = n
      messages.sending = countClaimed.get()!.n
      messages.queued -= messages.sending
      return { batches: countBatches.get()!.n, messages, reports: outboxCounts(countReports), incoming: outboxCounts(countIncoming) }
    }),
    // SQLite's LIMIT -1 is no limit.
    inspect: (options = {}) => patiently(() => inspect(options.limit ?? -1)),
    parked: (options = {}) => patiently(() => parked(options.limit ?? -1)),
    lookupBatches: (key, limit) => patiently(() => operator.lookupBatches(key, limit)),
    lookupMessages: (key, limit) => patiently(() => key === '' ? [] : operator.lookupMessages(key, limit)),
    requeueParked: (filter, now) => patiently(() => operator.requeueParked.immediate(filter, now)),
    cancelBatch: (batchId, now) => patiently(() => operator.cancelBatch.immediate(batchId, now)),
    setRegistrationPaused: (registrationId, paused, now) => patiently(() => operator.setRegistrationPaused.immediate(registrationId, paused, now)),
    pausedRegistrations: () => patiently(() => operator.pausedRegistrations()),
    erasePhoneNumber: (msisdn, now) => patiently(() => operator.erasePhoneNumber.immediate(msisdn, now)),
    setSuppressed: (registrationId, msisdn, suppressed, now) => patiently(() => operator.setSuppressed.immediate(registrationId, msisdn, suppressed, now)),
    suppressions: (filter, limit) => patiently(() => operator.suppressions(filter, limit)),
    async close () {
      if (!db.open) return
      events.flush()
      db.close()
    }
  }
}

/** A batch's stored idempotency facts; `body_hash` is null for batches stored before bodies were hashed. */
interface StoredKey {
  accepted_count: number
  rejected_count: number
  body_hash: string | null
}

function duplicateOf (row: StoredKey, batch: NewBatch): AcceptResult {
  const conflict = row.body_hash !== null && batch.bodyHash !== undefined && row.body_hash !== batch.bodyHash
  return { duplicate: true, conflict, accepted: row.accepted_count, rejected: row.rejected_count }
}

/** Applies the migrations not yet recorded, in order, each in its own transaction with its record. */
export function applyMigrations (db: Database.Database, migrations: Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)')
  const applied = new Set(db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version))
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue
    db.transaction(() => {
      db.exec(migration.sql)
      record.run(migration.version, migration.name, Date.now())
    }).immediate()
  }
}
