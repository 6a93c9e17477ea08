import type pg from 'pg'
import type { BatchLookup, CancelResult, EraseResult, MessageLookup, MessageState, OutboxState, Suppression } from './store.js'
import { batchRecord, messageRecord, reportRecord, type BatchRow, type MessageRow, type ReportRow } from './stored-records.js'
import { withClaimsShown, type ClaimLease } from './request-claims.js'
import { CANCELLED_BY_ERASURE, CANCELLED_BY_OPERATOR, NOTHING_ERASED, cancellable, countMessages, heldByClaims, outboxCounts } from './operator-rules.js'
import { dbId, inTransaction, type Queryable } from './pg-pool.js'
import { BATCH_COLUMNS, CLAIM_COLUMNS, MESSAGE_COLUMNS, REPORT_COLUMNS, pgClaimLease as leaseOf, type PgClaimRow as ClaimRow } from './pg-inspect.js'
import { CLAIM_LOCK_CLASS } from './pg-relay.js'
import { queueReportsFrom } from './pg-report-queue.js'
import { keyedState } from './pg-keyed-plans.js'

interface StateRow { id: number; state: MessageState; attempts: number }
type FoundMessage = MessageRow & { registration_id: string; optimove_batch_id: string; request_id: string }

const CLAIMS = `SELECT ${CLAIM_COLUMNS} FROM claims`
const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'

const BATCHES = `SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $2 OR uid = $1 OR batch_id = $1 OR request_id = $1 ORDER BY id DESC LIMIT $3`
const MESSAGES = `
  SELECT ${MESSAGE_COLUMNS.replace(/(\w+)/g, 'm.$1')}, b.registration_id, b.batch_id AS optimove_batch_id, b.request_id
  FROM messages m JOIN batches b ON b.id = m.batch_id
  WHERE m.reference = $1 OR m.provider_message_id = $1 OR m.mobile_number = $1 ORDER BY m.id DESC LIMIT $2`
const HISTORY = `SELECT message_id, event_id, status, status_at, error_code, error_details, received_at FROM webhook_events
  WHERE message_id = ANY($1::bigint[]) ORDER BY seq`

const requeueSql = (table: string): string => `
  UPDATE ${table} SET state = 'pending', attempts = 0, next_attempt_at = $3, lease_until = NULL, lease_owner = NULL
  WHERE state = 'parked' AND ($1::text IS NULL OR registration_id = $1) AND ($2::bigint IS NULL OR next_attempt_at >= $2)`

// Ends the listed messages still queued as `cancelled`, each one's report queued by the same statement.
const CANCEL = `WITH ended AS (
    UPDATE messages m SET state = 'failed', final_outcome = 'cancelled', last_error = $2, updated_at = $3
    WHERE m.id = ANY($1::bigint[]) AND ${keyedState('m', 'queued')}
    RETURNING m.id AS message_id, m.registration_id, 'cancelled'::text AS outcome, $3::bigint AS status_at, NULL::text AS error_code,
      $2::text AS error_details, $3::bigint AS at, m.id AS ord
  )
  ${queueReportsFrom('ended')}`

/** Takes the claim turns of these registrations (as a claim does, see pg-relay.ts): no claim of theirs starts until this transaction ends. */
async function holdClaims (client: Queryable, registrations: Iterable<string>): Promise<ClaimLease[]> {
  // In one order, so that two operators' transactions never wait for each other in a circle.
  const sorted = [...new Set(registrations)].sort()
  for (const registration of sorted) await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLAIM_LOCK_CLASS, registration])
  if (sorted.length === 0) return []
  return (await client.query<ClaimRow>(`${CLAIMS} WHERE registration_id = ANY($1::text[])`, [sorted])).rows.map(leaseOf)
}

/**
 * The operator's role of the PostgreSQL store (see OperatorStore). Lookups read one snapshot;
 * an action that ends messages first takes the claim turns of their registrations, so that no
 * claim of another process takes a message it is ending.
 */
export function createPgOperator (pool: pg.Pool) {
  return {
    lookupBatches: (key: string, limit: number): Promise<BatchLookup[]> => inTransaction(pool, async (client) => {
      const batches = (await client.query<BatchRow & { id: number }>(BATCHES, [key, dbId(key) ?? -1, limit])).rows
      const found: BatchLookup[] = []
      for (const row of batches) {
        const messages = (await client.query<StateRow>('SELECT id, state, attempts FROM messages WHERE batch_id = $1', [row.id])).rows
        const claims = (await client.query<ClaimRow>(`${CLAIMS} WHERE registration_id = $1`, [row.registration_id])).rows.map(leaseOf)
        const reports = outboxCounts()
        for (const { state, n } of (await client.query<{ state: OutboxState; n: number }>(
          'SELECT r.state, count(*)::int AS n FROM reports r JOIN messages m ON m.id = r.message_id WHERE m.batch_id = $1 GROUP BY r.state', [row.id])).rows) reports[state] = n
        found.push({ batch: batchRecord(row), messages: countMessages(messages, heldByClaims(claims)), reports })
      }
      return found
    }, SNAPSHOT),
    lookupMessages: (key: string, limit: number): Promise<MessageLookup[]> => inTransaction(pool, async (client) => {
      const found = (await client.query<FoundMessage>(MESSAGES, [key, limit])).rows
      if (found.length === 0) return []
      const ids = found.map((row) => row.id)
      const shown = withClaimsShown(found, (await client.query<ClaimRow>(`${CLAIMS} WHERE registration_id = ANY($1::text[])`, [[...new Set(found.map((row) => row.registration_id))]])).rows.map(leaseOf))
      const history = (await client.query<{ message_id: number; event_id: string; status: string | null; status_at: number | null; error_code: string | null; error_details: string | null; received_at: number }>(HISTORY, [ids])).rows
      const reports = (await client.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM reports WHERE message_id = ANY($1::bigint[]) ORDER BY id`, [ids])).rows
      return found.map((row, i) => ({
        message: messageRecord(shown[i]!),
        registrationId: row.registration_id,
        batch: { batchId: row.optimove_batch_id, requestId: row.request_id },
        history: history.filter((e) => e.message_id === row.id)
          .map((e) => ({ eventId: e.event_id, status: e.status, statusAt: e.status_at, errorCode: e.error_code, errorDetails: e.error_details, receivedAt: e.received_at })),
        reports: reports.filter((r) => r.message_id === row.id).map(reportRecord)
      }))
    }, SNAPSHOT),
    requeueParked: (filter: { registrationId?: string; since?: number }, now: number) => inTransaction(pool, async (client) => {
      const params = [filter.registrationId ?? null, filter.since ?? null, now]
      return {
        reports: (await client.query(requeueSql('reports'), params)).rowCount ?? 0,
        incoming: (await client.query(requeueSql('incoming_messages'), params)).rowCount ?? 0
      }
    }),
    cancelBatch: (batchId: string, now: number): Promise<CancelResult | undefined> => inTransaction(pool, async (client) => {
      const id = dbId(batchId)
      const batch = id === undefined ? undefined : (await client.query<{ registration_id: string }>('SELECT registration_id FROM batches WHERE id = $1', [id])).rows[0]
      if (batch === undefined) return undefined
      const claims = await holdClaims(client, [batch.registration_id])
      const rows = (await client.query<StateRow>('SELECT id, state, attempts FROM messages WHERE batch_id = $1', [id])).rows
      const { ids, inFlight, alreadyDone } = cancellable(rows, heldByClaims(claims))
      const cancelled = ids.length === 0 ? 0 : (await client.query(CANCEL, [ids, CANCELLED_BY_OPERATOR, now])).rowCount ?? 0
      return { cancelled, inFlight, alreadyDone }
    }),
    setRegistrationPaused: (registrationId: string, paused: boolean, now: number): Promise<boolean> => inTransaction(pool, async (client) => {
      const before = (await client.query('SELECT 1 FROM paused_registrations WHERE registration_id = $1 FOR UPDATE', [registrationId])).rowCount === 1
      if (paused) await client.query('INSERT INTO paused_registrations (registration_id, paused_at) VALUES ($1, $2) ON CONFLICT (registration_id) DO NOTHING', [registrationId, now])
      else await client.query('DELETE FROM paused_registrations WHERE registration_id = $1', [registrationId])
      return before
    }),
    pausedRegistrations: async (): Promise<Array<{ registrationId: string; pausedAt: number }>> =>
      (await pool.query<{ registration_id: string; paused_at: number }>('SELECT registration_id, paused_at FROM paused_registrations ORDER BY registration_id COLLATE "C"')).rows
        .map((p) => ({ registrationId: p.registration_id, pausedAt: p.paused_at })),
    erasePhoneNumber: (msisdn: string, now: number): Promise<EraseResult> => msisdn === '' ? Promise.resolve({ ...NOTHING_ERASED }) : inTransaction(pool, async (client) => {
      const registrations = (await client.query<{ registration_id: string }>('SELECT DISTINCT registration_id FROM messages WHERE mobile_number = $1', [msisdn])).rows
      const held = registrations.map((r) => r.registration_id)
      const claims = await holdClaims(client, held)
      const rows = (await client.query<StateRow>('SELECT id, state, attempts FROM messages WHERE mobile_number = $1 AND registration_id = ANY($2::text[])', [msisdn, held])).rows
      const ids = rows.map((row) => row.id)
      // Its messages not yet sent never will be: they end, reported without the number.
      const unsent = cancellable(rows, heldByClaims(claims)).ids
      if (unsent.length > 0) await client.query(CANCEL, [unsent, CANCELLED_BY_ERASURE, now])
      await client.query(`UPDATE messages SET mobile_number = '', given_number = NULL, body = '', last_error = replace(last_error, $1, '')
        WHERE id = ANY($2::bigint[])`, [msisdn, ids])
      await client.query(`UPDATE reports SET error_details = replace(error_details, $1, ''), last_error = replace(last_error, $1, '')
        WHERE message_id = ANY($2::bigint[]) AND (strpos(error_details, $1) > 0 OR strpos(last_error, $1) > 0)`, [msisdn, ids])
      return {
        messages: rows.length,
        replies: (await client.query('DELETE FROM incoming_messages WHERE from_number = $1', [msisdn])).rowCount ?? 0,
        recipients: (await client.query('DELETE FROM recipient_registrations WHERE msisdn = $1', [msisdn])).rowCount ?? 0,
        webhookEvents: (await client.query(`UPDATE webhook_events SET raw = replace(raw, $1, ''), error_details = replace(error_details, $1, '')
          WHERE strpos(raw, $1) > 0 OR strpos(error_details, $1) > 0`, [msisdn])).rowCount ?? 0,
        suppressions: (await client.query('DELETE FROM suppressions WHERE msisdn = $1', [msisdn])).rowCount ?? 0
      }
    }),
    async setSuppressed (registrationId: string, msisdn: string, suppressed: boolean, now: number): Promise<boolean> {
      if (!suppressed) return (await pool.query('DELETE FROM suppressions WHERE registration_id = $1 AND msisdn = $2', [registrationId, msisdn])).rowCount === 1
      const { rowCount } = await pool.query(`INSERT INTO suppressions (registration_id, msisdn, suppressed_at, source) VALUES ($1, $2, $3, 'operator')
        ON CONFLICT (registration_id, msisdn) DO NOTHING`, [registrationId, msisdn, now])
      return rowCount === 0
    },
    suppressions: async (filter: { registrationId?: string }, limit: number): Promise<Suppression[]> =>
      (await pool.query<{ registration_id: string; msisdn: string; suppressed_at: number; source: 'stop' | 'operator' }>(`
        SELECT registration_id, msisdn, suppressed_at, source FROM suppressions WHERE $1::text IS NULL OR registration_id = $1
        ORDER BY registration_id COLLATE "C", msisdn COLLATE "C" LIMIT $2`, [filter.registrationId ?? null, limit])).rows
        .map((r) => ({ registrationId: r.registration_id, msisdn: r.msisdn, suppressedAt: r.suppressed_at, source: r.source }))
  }
}
