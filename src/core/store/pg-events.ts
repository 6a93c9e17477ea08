import type pg from 'pg'
import type { WebhookEvent, WebhookEventResult } from './store.js'
import { queueReportsFrom } from './pg-report-queue.js'
import { createPgGroupCommit } from './pg-group-commit.js'
import type { Queryable } from './pg-pool.js'

// A status event: its message found by reference, else by provider id (a NULL finds nothing);
// the event remembered once; when it is new and final and the message is not yet final or
// failed, the message ends and its report is queued. One statement, so one transaction: a
// replay, or another event of the same message committed first, changes nothing.
const STATUS = `
  WITH found AS (
    SELECT COALESCE((SELECT id FROM messages WHERE reference = $1),
                    (SELECT id FROM messages WHERE provider_message_id = $2 ORDER BY id LIMIT 1)) AS id
  ), remembered AS (
    INSERT INTO webhook_events (event_id, event_type, message_id, status, status_at, error_code, error_details, received_at)
    SELECT $3, $4, found.id, $5, $6, $7, $8, $9 FROM found
    ON CONFLICT (event_id) DO NOTHING
    RETURNING message_id
  ), ended AS (
    UPDATE messages m SET state = 'final', final_outcome = $10::text, provider_message_id = COALESCE(m.provider_message_id, $2),
                          lease_until = NULL, updated_at = $9
    FROM remembered e, batches b
    WHERE m.id = e.message_id AND $10::text IS NOT NULL AND m.state NOT IN ('final', 'failed') AND b.id = m.batch_id
    RETURNING m.id AS message_id, b.registration_id, $10::text AS outcome, $6::bigint AS status_at, $7::text AS error_code,
              $8::text AS error_details, $9::bigint AS at, m.id AS ord
  ), reported AS (${queueReportsFrom('ended')})
  SELECT message_id FROM remembered`

// A reply: remembered once, and when new, queued for each registration it belongs to, in the
// order of its routes; a STOP ($9 'stop') puts the number on those registrations' suppression
// lists, a START ('start') takes it off.
const INBOUND = `
  WITH remembered AS (
    INSERT INTO webhook_events (event_id, event_type, received_at) VALUES ($1, $2, $3)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
  ), queued AS (
    INSERT INTO incoming_messages (registration_id, from_number, to_address, body, sent_at, state, next_attempt_at, created_at)
    SELECT r.registration_id, $4, r.to_address, $5, $6, 'pending', $3, $3
    FROM remembered CROSS JOIN unnest($7::text[], $8::text[]) WITH ORDINALITY AS r (registration_id, to_address, ord)
    ORDER BY r.ord
  ), suppressed AS (
    INSERT INTO suppressions (registration_id, msisdn, suppressed_at, source)
    SELECT r.registration_id, $4, $3, 'stop' FROM remembered CROSS JOIN unnest($7::text[]) AS r (registration_id) WHERE $9::text = 'stop'
    ON CONFLICT (registration_id, msisdn) DO NOTHING
  ), lifted AS (
    DELETE FROM suppressions s USING remembered WHERE $9::text = 'start' AND s.msisdn = $4 AND s.registration_id = ANY($7::text[])
  )
  SELECT event_id FROM remembered`

// The reason goes where a status's error details would: an operator reads both the same way.
const UNUSABLE = `
  INSERT INTO webhook_events (event_id, event_type, error_details, raw, received_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (event_id) DO NOTHING
  RETURNING event_id`

// The latest sender first; ties in byte order of the registration, as SQLite compares text.
const SENDERS = `
  SELECT registration_id FROM recipient_registrations WHERE msisdn = $1
  ORDER BY last_sent_at DESC, registration_id COLLATE "C"`

/** One event, on a connection of the pool or in a group's transaction. */
async function recordOn (on: Queryable, event: WebhookEvent): Promise<WebhookEventResult> {
  if (event.kind === 'inbound') {
    const { rowCount } = await on.query(INBOUND, [event.eventId, event.eventType, event.receivedAt, event.from, event.text, event.sentAt,
      event.routes.map((r) => r.registrationId), event.routes.map((r) => r.to), event.optOut ?? null])
    return rowCount === 1 ? 'new' : 'duplicate'
  }
  if (event.kind === 'unusable') {
    const { rowCount } = await on.query(UNUSABLE, [event.eventId, event.eventType, event.reason, event.raw, event.receivedAt])
    return rowCount === 1 ? 'new' : 'duplicate'
  }
  const { rows } = await on.query<{ message_id: number | null }>(STATUS, [
    event.reference, event.providerMessageId, event.eventId, event.eventType, event.status, event.statusAt,
    event.error?.code ?? null, event.error?.details ?? null, event.receivedAt, event.outcome ?? null
  ])
  const [remembered] = rows
  if (remembered === undefined) return 'duplicate'
  return remembered.message_id === null ? 'unknown-message' : 'new'
}

/**
 * The message row a status event locks, named as the event names it: every group applies its
 * events in this order, so that two groups committing at once rarely wait on each other in a
 * cycle (PostgreSQL breaks one that does, and that group's events are then stored one by one).
 * The sort is stable: events of one message keep their order of arrival.
 */
const messageKey = (event: WebhookEvent): string => event.kind === 'status' ? `${event.reference ?? ''}\u0000${event.providerMessageId ?? ''}` : ''
const byMessage = (a: WebhookEvent, b: WebhookEvent): number => {
  const [x, y] = [messageKey(a), messageKey(b)]
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * The webhook side of the PostgreSQL store: replay memory, status history, final transitions,
 * the inbound queue (one row per registration a reply belongs to), unusable events kept whole,
 * and where a reply belongs. Each event is one statement; events that arrive together share one
 * transaction (group commit, `pg-group-commit.ts`), in an order that locks rows alike in every group.
 */
export function createPgEvents (pool: pg.Pool) {
  const events = createPgGroupCommit(pool, recordOn, { lockOrder: byMessage })
  return {
    recordWebhookEvent: (event: WebhookEvent): Promise<WebhookEventResult> => events.write(event),
    async registrationsOfRecipient (msisdn: string): Promise<string[]> {
      return (await pool.query<{ registration_id: string }>(SENDERS, [msisdn])).rows.map((r) => r.registration_id)
    }
  }
}
