import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { AcceptResult, NewBatch, NewMessage } from './store.js'
import { inTransaction } from './pg-pool.js'
import { queueReportsFrom } from './pg-report-queue.js'

/** A batch's stored idempotency facts; `body_hash` is null for batches stored without a hash. */
interface StoredKey {
  accepted_count: number
  rejected_count: number
  body_hash: string | null
}

// The batch's own key first, then its older key forms in the order given; an older form names
// the same batch only when its ids are this batch's ids.
const FIND_STORED = `
  SELECT accepted_count, rejected_count, body_hash FROM batches
  WHERE registration_id = $1 AND (idempotency_key = $2 OR (idempotency_key = ANY($3::text[]) AND request_id = $4 AND batch_id = $5))
  ORDER BY idempotency_key = $2 DESC, array_position($3::text[], idempotency_key)
  LIMIT 1`

/**
 * The statement that stores a new batch whole: the batch (unless its key was stored meanwhile,
 * then nothing at all), its messages from arrays in one `INSERT … SELECT FROM unnest`, the
 * reports of those failed at intake, and, with `rememberRecipients`, the number→registration
 * memory (its rows in number order, so that intakes sharing numbers lock them in one order).
 */
function storeBatchSql (rememberRecipients: boolean): string {
  return `
    WITH batch AS (
      INSERT INTO batches (uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata,
                           scheduled_at, accepted_count, rejected_count, received_at, body_hash, trace_id)
      VALUES ($1::text, $2::text, $3, $4, $5, $6, $7, $8::bigint, $9, $10, $11::bigint, $12, $19)
      ON CONFLICT (registration_id, idempotency_key) DO NOTHING
      RETURNING id
    ), given AS (
      SELECT * FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[]) WITH ORDINALITY
        AS g (mobile_number, given_number, customer_id, body, outcome, reason, ord)
    ), stored AS (
      INSERT INTO messages (batch_id, registration_id, reference, mobile_number, given_number, customer_id, body, state, next_attempt_at,
                            final_outcome, last_error, created_at, updated_at)
      SELECT batch.id, $2::text, $1::text || '-' || (g.ord - 1)::text, g.mobile_number, g.given_number, g.customer_id, g.body,
             CASE WHEN g.outcome IS NULL THEN 'queued' ELSE 'failed' END, $8::bigint, g.outcome, g.reason, $11::bigint, $11::bigint
      FROM batch CROSS JOIN given g
      ORDER BY g.ord
      RETURNING id, batch_id, state, final_outcome, last_error
    ), failed AS (
      SELECT id AS message_id, $2::text AS registration_id, final_outcome AS outcome, $11::bigint AS status_at, NULL::text AS error_code,
             last_error AS error_details, $11::bigint AS at, id AS ord
      FROM stored WHERE state = 'failed'
    ), reported AS (${queueReportsFrom('failed')})${rememberRecipients
      ? `, remembered AS (
      INSERT INTO recipient_registrations (msisdn, registration_id, last_sent_at)
      SELECT DISTINCT g.mobile_number, $2::text, $11::bigint FROM batch CROSS JOIN given g WHERE g.outcome IS NULL
      ORDER BY 1
      ON CONFLICT (msisdn, registration_id) DO UPDATE SET last_sent_at = excluded.last_sent_at
    )`
      : ''}
    SELECT id FROM batch`
}

/**
 * Campaign intake on PostgreSQL: one transaction that answers a known key (or an older form of
 * it) as a duplicate, else stores the batch and all its messages in one statement, however many
 * there are. A key stored by another process between the two is a duplicate too.
 */
export function createPgIntake (pool: pg.Pool, options: { rememberRecipients: boolean }): (batch: NewBatch, messages: NewMessage[]) => Promise<AcceptResult> {
  const storeBatch = storeBatchSql(options.rememberRecipients)
  return (batch, messages) => inTransaction(pool, async (client): Promise<AcceptResult> => {
    const [existing] = (await client.query<StoredKey>(FIND_STORED,
      [batch.registrationId, batch.idempotencyKey, batch.legacyIdempotencyKeys ?? [], batch.requestId, batch.batchId])).rows
    if (existing !== undefined) return duplicateOf(existing, batch)
    const rejected = messages.reduce((n, m) => (m.failure === undefined ? n : n + 1), 0)
    const accepted = messages.length - rejected
    const uid = randomBytes(9).toString('base64url')
    const stored = await client.query(storeBatch, [
      uid, batch.registrationId, batch.idempotencyKey, batch.batchId, batch.requestId, batch.senderId, batch.metadataJson,
      batch.scheduledAt, accepted, rejected, batch.receivedAt, batch.bodyHash ?? null,
      messages.map((m) => m.mobileNumber),
      messages.map((m) => m.givenNumber ?? null),
      messages.map((m) => m.customerId),
      messages.map((m) => m.text),
      messages.map((m) => m.failure?.outcome ?? null),
      messages.map((m) => m.failure?.reason ?? null),
      batch.traceId ?? null
    ])
    if (stored.rowCount === 1) return { duplicate: false, conflict: false, accepted, rejected }
    // Another process stored this key between our read and our write.
    const [winner] = (await client.query<StoredKey>(FIND_STORED, [batch.registrationId, batch.idempotencyKey, [], batch.requestId, batch.batchId])).rows
    return duplicateOf(winner!, batch)
  })
}

function duplicateOf (row: StoredKey, batch: NewBatch): AcceptResult {
  const conflict = row.body_hash !== null && batch.bodyHash !== undefined && row.body_hash !== batch.bodyHash
  return { duplicate: true, conflict, accepted: row.accepted_count, rejected: row.rejected_count }
}
