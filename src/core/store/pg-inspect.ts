import type pg from 'pg'
import type { ParkedRows, StoreContents } from './store.js'
import { inTransaction } from './pg-pool.js'
import {
  batchRecord, incomingRecord, instanceRecord, messageRecord, recipientRecord, reportRecord, webhookEventRecord,
  type BatchRow, type IncomingRow, type InstanceRow, type MessageRow, type RecipientRow, type ReportRow, type WebhookEventRow
} from './stored-records.js'
import { withClaimsShown, type ClaimLease } from './request-claims.js'

// The columns the SQLite schema has (`seq` only keeps the order rows without an id were stored in).
export const BATCH_COLUMNS = `id, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata, scheduled_at, received_at,
  accepted_count, rejected_count, trace_id`
export const MESSAGE_COLUMNS = `id, batch_id, reference, mobile_number, given_number, customer_id, body, state, attempts, next_attempt_at,
  lease_until, lease_owner, provider_message_id, final_outcome, last_error, created_at, updated_at`
export const REPORT_COLUMNS = `id, message_id, registration_id, outcome, status_at, error_code, error_details, state, attempts, next_attempt_at,
  lease_until, lease_owner, last_error, created_at`
const BATCHES = `SELECT ${BATCH_COLUMNS} FROM batches ORDER BY id LIMIT $1`
const MESSAGES = `SELECT ${MESSAGE_COLUMNS} FROM messages ORDER BY id LIMIT $1`
const REPORTS = `SELECT ${REPORT_COLUMNS} FROM reports ORDER BY id LIMIT $1`
const INCOMING = `SELECT id, registration_id, from_number, to_address, body, sent_at, state, attempts, next_attempt_at, lease_until,
  lease_owner, last_error, created_at FROM incoming_messages ORDER BY id LIMIT $1`
const EVENTS = `SELECT event_id, event_type, message_id, status, status_at, error_code, error_details, raw, received_at
  FROM webhook_events ORDER BY seq LIMIT $1`
/** The claims' rows (their member lists are BIGINT arrays, read as text) and the columns that hold them. */
export interface PgClaimRow { id: number; owner: string; lease_until: number; message_ids: string[]; attempts: string[] }
export const CLAIM_COLUMNS = 'id, owner, lease_until, message_ids, attempts'
const CLAIMS = `SELECT ${CLAIM_COLUMNS} FROM claims ORDER BY id`

export function pgClaimLease (c: PgClaimRow): ClaimLease {
  return { claimId: c.id, owner: c.owner, leaseUntil: c.lease_until, ids: c.message_ids.map(Number), attempts: c.attempts.map(Number) }
}
const RECIPIENTS = 'SELECT msisdn, registration_id, last_sent_at FROM recipient_registrations ORDER BY seq LIMIT $1'
// In binary order, as the SQLite store orders them.
const INSTANCES = 'SELECT id, started_at, heartbeat_at FROM instances ORDER BY id COLLATE "C" LIMIT $1'

/**
 * The inspection role of the PostgreSQL store: its rows, oldest first (the instances by id), in
 * the port's words, all read from one snapshot. `limit` bounds each list (none when undefined).
 */
export function createPgInspect (pool: pg.Pool): (limit: number | undefined) => Promise<StoreContents> {
  return (limit) => inTransaction(pool, async (client): Promise<StoreContents> => {
    const all = async <R extends pg.QueryResultRow>(sql: string): Promise<R[]> => (await client.query<R>(sql, [limit ?? null])).rows
    return {
      batches: (await all<BatchRow>(BATCHES)).map(batchRecord),
      messages: withClaimsShown(await all<MessageRow>(MESSAGES), (await client.query<PgClaimRow>(CLAIMS)).rows.map(pgClaimLease)).map(messageRecord),
      reports: (await all<ReportRow>(REPORTS)).map(reportRecord),
      incoming: (await all<IncomingRow>(INCOMING)).map(incomingRecord),
      webhookEvents: (await all<WebhookEventRow>(EVENTS)).map(webhookEventRecord),
      recipients: (await all<RecipientRow>(RECIPIENTS)).map(recipientRecord),
      instances: (await all<InstanceRow>(INSTANCES)).map(instanceRecord)
    }
  }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
}

/** The parked rows of both outboxes, oldest first, from one snapshot; `limit` bounds each list (none when undefined). */
export function createPgParked (pool: pg.Pool): (limit: number | undefined) => Promise<ParkedRows> {
  const parkedOnly = (sql: string): string => sql.replace(' ORDER BY id', " WHERE state = 'parked' ORDER BY id")
  return (limit) => inTransaction(pool, async (client): Promise<ParkedRows> => ({
    reports: (await client.query<ReportRow>(parkedOnly(REPORTS), [limit ?? null])).rows.map(reportRecord),
    incoming: (await client.query<IncomingRow>(parkedOnly(INCOMING), [limit ?? null])).rows.map(incomingRecord)
  }), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
}
