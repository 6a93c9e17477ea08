import type Database from 'better-sqlite3'
import type { WebhookEvent, WebhookEventResult } from './store.js'
import { createReportQueue } from './sqlite-report-queue.js'

/**
 * The webhook side of the SQLite store: replay memory, status history, final transitions, the
 * inbound queue (one row per registration a reply belongs to) with the suppression lists a STOP or
 * START changes, and unusable events kept whole.
 */
export function createEventQueries (db: Database.Database): (event: WebhookEvent) => WebhookEventResult {
  const remember = db.prepare(`
    INSERT INTO webhook_events (event_id, event_type, message_id, status, status_at, error_code, error_details, received_at, raw)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`)
  // A NULL reference or provider id finds no message (`= NULL` is never true).
  const byReference = db.prepare<[string | null], { id: number; state: string }>('SELECT id, state FROM messages WHERE reference = ?')
  const byProviderId = db.prepare<[string | null], { id: number; state: string }>('SELECT id, state FROM messages WHERE provider_message_id = ?')
  const finish = db.prepare(`
    UPDATE messages SET state = 'final', final_outcome = ?, provider_message_id = COALESCE(provider_message_id, ?), lease_until = NULL, updated_at = ?
    WHERE id = ? AND state NOT IN ('final', 'failed')`)
  const queueReport = createReportQueue(db)
  const queueIncoming = db.prepare(`
    INSERT INTO incoming_messages (registration_id, from_number, to_address, body, sent_at, state, next_attempt_at, created_at)
    VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)`)
  const suppress = db.prepare(`INSERT INTO suppressions (registration_id, msisdn, suppressed_at, source) VALUES (?, ?, ?, 'stop')
    ON CONFLICT (registration_id, msisdn) DO NOTHING`)
  const lift = db.prepare('DELETE FROM suppressions WHERE registration_id = ? AND msisdn = ?')

  return (event) => {
    if (event.kind === 'inbound') {
      const fresh = remember.run(event.eventId, event.eventType, null, null, null, null, null, event.receivedAt, null).changes === 1
      if (!fresh) return 'duplicate'
      for (const route of event.routes) {
        queueIncoming.run(route.registrationId, event.from, route.to, event.text, event.sentAt, event.receivedAt, event.receivedAt)
        if (event.optOut === 'stop') suppress.run(route.registrationId, event.from, event.receivedAt)
        else if (event.optOut === 'start') lift.run(route.registrationId, event.from)
      }
      return 'new'
    }
    if (event.kind === 'unusable') {
      // The reason goes where a status's error details would: an operator reads both the same way.
      const fresh = remember.run(event.eventId, event.eventType, null, null, null, null, event.reason, event.receivedAt, event.raw).changes === 1
      return fresh ? 'new' : 'duplicate'
    }
    const message = byReference.get(event.reference) ?? byProviderId.get(event.providerMessageId)
    const fresh = remember.run(event.eventId, event.eventType, message?.id ?? null, event.status, event.statusAt,
      event.error?.code ?? null, event.error?.details ?? null, event.receivedAt, null).changes === 1
    if (!fresh) return 'duplicate'
    if (message === undefined) return 'unknown-message'
    // A final state is reported once; later or out-of-order events only join the history.
    if (event.outcome !== undefined && finish.run(event.outcome, event.providerMessageId, event.receivedAt, message.id).changes === 1) {
      queueReport({ messageId: message.id, outcome: event.outcome, statusAt: event.statusAt, errorCode: event.error?.code, errorDetails: event.error?.details, now: event.receivedAt })
    }
    return 'new'
  }
}
