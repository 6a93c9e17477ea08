import type Database from 'better-sqlite3'
import type { FinalOutcome } from '../outcomes.js'

export interface QueuedReport {
  messageId: number
  outcome: FinalOutcome
  statusAt: number
  errorCode?: string | null
  errorDetails?: string | null
  now: number
}

/**
 * The one way a delivery report enters the outbox: called inside the transaction that ends
 * its message (transactional outbox), due at once, for the message's registration.
 */
export function createReportQueue (db: Database.Database): (report: QueuedReport) => void {
  const insert = db.prepare(`
    INSERT INTO reports (message_id, registration_id, outcome, status_at, error_code, error_details, state, next_attempt_at, created_at)
    SELECT m.id, b.registration_id, ?, ?, ?, ?, 'pending', ?, ? FROM messages m JOIN batches b ON b.id = m.batch_id WHERE m.id = ?`)
  return (r) => {
    insert.run(r.outcome, r.statusAt, r.errorCode ?? null, r.errorDetails ?? null, r.now, r.now, r.messageId)
  }
}
