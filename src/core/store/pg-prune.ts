import type pg from 'pg'
import type { PruneResult } from './store.js'

/**
 * Deletes what the service no longer needs, older than a cutoff, in bounded chunks (each one
 * short statement, so one short transaction; the caller runs them one by one until a chunk finds
 * nothing): remembered webhook events, outbox rows that were delivered, messages that ended whose
 * reports were all delivered (with the events of their history), then batches left empty (their
 * idempotency keys with them), and the number→registration memory past its own cutoff. Nothing
 * still owed to a peer is touched.
 */
export function createPgPrune (pool: pg.Pool, chunk = 1000) {
  const events = `DELETE FROM webhook_events WHERE event_id IN (
    SELECT event_id FROM webhook_events WHERE received_at < $1 LIMIT ${chunk})`
  const reports = `DELETE FROM reports WHERE id IN (
    SELECT id FROM reports WHERE state = 'done' AND created_at < $1 LIMIT ${chunk})`
  const incoming = `DELETE FROM incoming_messages WHERE id IN (
    SELECT id FROM incoming_messages WHERE state = 'done' AND created_at < $1 LIMIT ${chunk})`
  // A message goes only once it ended and no report of it is left (so none is still owed); a
  // message another transaction holds (an event joining its history) is left for the next chunk.
  const messages = `
    WITH ended AS MATERIALIZED (
      SELECT m.id FROM messages m WHERE m.state IN ('final', 'failed') AND m.updated_at < $1
        AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.message_id = m.id)
      LIMIT ${chunk} FOR UPDATE SKIP LOCKED
    ), history AS (
      DELETE FROM webhook_events WHERE message_id IN (SELECT id FROM ended)
    )
    DELETE FROM messages WHERE id IN (SELECT id FROM ended)`
  const batches = `DELETE FROM batches WHERE id IN (
    SELECT b.id FROM batches b WHERE b.received_at < $1 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = b.id) LIMIT ${chunk})`
  const recipients = `DELETE FROM recipient_registrations WHERE (msisdn, registration_id) IN (
    SELECT msisdn, registration_id FROM recipient_registrations WHERE last_sent_at < $1 LIMIT ${chunk})`

  const step = (sql: string, cutoff: number) => async (): Promise<number> => (await pool.query(sql, [cutoff])).rowCount ?? 0
  // The order matters: events and reports go before the messages they point at, messages before batches.
  return (cutoff: number, recipientCutoff: number): Array<[keyof PruneResult, () => Promise<number>]> => [
    ['webhookEvents', step(events, cutoff)],
    ['reports', step(reports, cutoff)],
    ['incoming', step(incoming, cutoff)],
    ['messages', step(messages, cutoff)],
    ['batches', step(batches, cutoff)],
    ['recipients', step(recipients, recipientCutoff)]
  ]
}
