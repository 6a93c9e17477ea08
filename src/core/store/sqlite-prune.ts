import type Database from 'better-sqlite3'
import type { PruneResult } from './store.js'

/**
 * Deletes what the service no longer needs, older than a cutoff, in bounded chunks (each its
 * own short transaction, so that writers never wait long; the caller runs them one by one): remembered webhook events, outbox
 * rows that were delivered, and messages that ended whose reports were all delivered, then
 * batches left empty (their idempotency keys with them). Nothing still owed to a peer is touched.
 */
export function createPruneQueries (db: Database.Database, chunk = 5000) {
  const events = db.prepare(`DELETE FROM webhook_events WHERE event_id IN (
    SELECT event_id FROM webhook_events WHERE received_at < ? LIMIT ${chunk})`)
  const reports = db.prepare(`DELETE FROM reports WHERE id IN (
    SELECT id FROM reports WHERE state = 'done' AND created_at < ? LIMIT ${chunk})`)
  const incoming = db.prepare(`DELETE FROM incoming_messages WHERE id IN (
    SELECT id FROM incoming_messages WHERE state = 'done' AND created_at < ? LIMIT ${chunk})`)
  // A message goes only once it ended and no report of it is left (so none is still owed).
  const endedMessages = db.prepare<[number], { id: number }>(`
    SELECT m.id FROM messages m WHERE m.state IN ('final', 'failed') AND m.updated_at < ?
      AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.message_id = m.id) LIMIT ${chunk}`)
  const eventsOf = db.prepare('DELETE FROM webhook_events WHERE message_id = ?')
  const message = db.prepare('DELETE FROM messages WHERE id = ?')
  const recipients = db.prepare(`DELETE FROM recipient_registrations WHERE rowid IN (
    SELECT rowid FROM recipient_registrations WHERE last_sent_at < ? LIMIT ${chunk})`)
  const batches = db.prepare(`DELETE FROM batches WHERE id IN (
    SELECT b.id FROM batches b WHERE b.received_at < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.batch_id = b.id) LIMIT ${chunk})`)

  const messagesChunk = db.transaction((cutoff: number): number => {
    const ids = endedMessages.all(cutoff)
    for (const { id } of ids) {
      eventsOf.run(id)
      message.run(id)
    }
    return ids.length
  })
  // The order matters: events and reports go before the messages they point at, messages before batches.
  return (cutoff: number, recipientCutoff: number): Array<[keyof PruneResult, () => number]> => [
    ['webhookEvents', () => events.run(cutoff).changes],
    ['reports', () => reports.run(cutoff).changes],
    ['incoming', () => incoming.run(cutoff).changes],
    ['messages', () => messagesChunk.immediate(cutoff)],
    ['batches', () => batches.run(cutoff).changes],
    ['recipients', () => recipients.run(recipientCutoff).changes]
  ]
}
