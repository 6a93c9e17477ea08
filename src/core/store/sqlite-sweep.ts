import type Database from 'better-sqlite3'
import { createReportQueue } from './sqlite-report-queue.js'
import { NO_FINAL_STATUS_REASON as NO_FINAL_STATUS } from './no-final-status.js'

/**
 * Ends messages that GatewayAPI took but never gave a final status: `submitted` ones sent
 * before their registration's cutoff become `final` with the outcome `no-final-status`, and
 * their report is queued in the same transaction. A final status that arrives later only joins
 * the history (the message is already final). Works in chunks, oldest first.
 */
export function createSweepQueries (db: Database.Database) {
  const overdue = db.prepare<[{ before: number; registration: string; limit: number }], { id: number }>(`
    SELECT m.id FROM messages m JOIN batches b ON b.id = m.batch_id
    WHERE m.state = 'submitted' AND m.updated_at < @before AND b.registration_id = @registration
    ORDER BY m.updated_at LIMIT @limit`)
  const overdueOfOthers = db.prepare<[{ before: number; known: string; limit: number }], { id: number }>(`
    SELECT m.id FROM messages m JOIN batches b ON b.id = m.batch_id
    WHERE m.state = 'submitted' AND m.updated_at < @before
      AND b.registration_id NOT IN (SELECT value FROM json_each(@known))
    ORDER BY m.updated_at LIMIT @limit`)
  const end = db.prepare(`
    UPDATE messages SET state = 'final', final_outcome = 'no-final-status', lease_until = NULL, last_error = ?, updated_at = ?
    WHERE id = ? AND state = 'submitted'`)
  const queueReport = createReportQueue(db)

  const endAll = (ids: number[], now: number): number => {
    let ended = 0
    for (const id of ids) {
      if (end.run(NO_FINAL_STATUS, now, id).changes === 1) {
        queueReport({ messageId: id, outcome: 'no-final-status', statusAt: now, errorDetails: NO_FINAL_STATUS, now })
        ended++
      }
    }
    return ended
  }

  return {
    /** One chunk for one registration; the number of messages ended. */
    registrationChunk: db.transaction((registration: string, before: number, now: number, limit: number): number =>
      endAll(overdue.all({ before, registration, limit }).map((r) => r.id), now)),
    /** One chunk for registrations no longer configured (their messages use `before`), skipping the `known` ones. */
    othersChunk: db.transaction((known: readonly string[], before: number, now: number, limit: number): number =>
      endAll(overdueOfOthers.all({ before, known: JSON.stringify(known), limit }).map((r) => r.id), now))
  }
}
