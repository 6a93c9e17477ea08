import type Database from 'better-sqlite3'
import type { FinalOutcome } from '../outcomes.js'
import type { OutboxName, OutboxSettlement, PendingIncoming, PendingReport } from './store.js'

const TABLES: Record<OutboxName, string> = { reports: 'reports', incoming: 'incoming_messages' }

/** Lease, finish, retry and park rows of the two outboxes, which share their bookkeeping columns. */
export function createOutboxQueries (db: Database.Database) {
  const claimIds = (table: string) => db.prepare<[{ leaseUntil: number; now: number; limit: number; state: string }], { id: number; attempts: number }>(`
    UPDATE ${table} SET state = 'sending', attempts = attempts + 1, next_attempt_at = @leaseUntil, lease_until = @leaseUntil
    WHERE id IN (SELECT id FROM ${table} WHERE state = @state AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit)
    RETURNING id, attempts`)
  const claims = { reports: claimIds('reports'), incoming: claimIds('incoming_messages') }

  const reportDetails = db.prepare<[number], ReportRow>(`
    SELECT r.registration_id, r.outcome, r.status_at, r.error_code, r.error_details,
           m.reference, m.provider_message_id, m.mobile_number, m.customer_id,
           b.batch_id, b.request_id, b.sender_id, b.metadata
    FROM reports r JOIN messages m ON m.id = r.message_id JOIN batches b ON b.id = m.batch_id WHERE r.id = ?`)
  const incomingDetails = db.prepare<[number], IncomingRow>(
    'SELECT registration_id, from_number, to_address, body, sent_at FROM incoming_messages WHERE id = ?')

  const settleStatements = (table: string) => ({
    done: db.prepare(`UPDATE ${table} SET state = 'done', lease_until = NULL WHERE id = ? AND state = 'sending'`),
    retry: db.prepare(`UPDATE ${table} SET state = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND state = 'sending'`),
    parked: db.prepare(`UPDATE ${table} SET state = 'parked', lease_until = NULL, last_error = ? WHERE id = ? AND state = 'sending'`)
  })
  const settles = { reports: settleStatements('reports'), incoming: settleStatements('incoming_messages') }

  const claim = (outbox: OutboxName, now: number, limit: number, leaseMs: number): Array<{ id: number; attempts: number }> => {
    const leaseUntil = now + leaseMs
    const rows = claims[outbox].all({ leaseUntil, now, limit, state: 'sending' })
    if (rows.length < limit) rows.push(...claims[outbox].all({ leaseUntil, now, limit: limit - rows.length, state: 'pending' }))
    return rows
  }

  return {
    claimReports: db.transaction((now: number, limit: number, leaseMs: number): PendingReport[] =>
      claim('reports', now, limit, leaseMs).map(({ id, attempts }) => {
        const r = reportDetails.get(id)!
        return {
          id: String(id),
          registrationId: r.registration_id,
          attempts,
          outcome: r.outcome as FinalOutcome,
          statusAt: r.status_at,
          error: r.error_code === null && r.error_details === null ? null : { code: r.error_code, details: r.error_details },
          reference: r.reference,
          providerMessageId: r.provider_message_id,
          mobileNumber: r.mobile_number,
          customerId: r.customer_id,
          batchId: r.batch_id,
          requestId: r.request_id,
          senderId: r.sender_id,
          metadataJson: r.metadata
        }
      })),
    claimIncoming: db.transaction((now: number, limit: number, leaseMs: number): PendingIncoming[] =>
      claim('incoming', now, limit, leaseMs).map(({ id, attempts }) => {
        const r = incomingDetails.get(id)!
        return { id: String(id), registrationId: r.registration_id, attempts, from: r.from_number, to: r.to_address, text: r.body, sentAt: r.sent_at }
      })),
    settle: db.transaction((outbox: OutboxName, s: OutboxSettlement) => {
      const statements = settles[outbox]
      const error = s.error ?? null
      for (const id of s.done ?? []) statements.done.run(Number(id))
      for (const { id, at } of s.retry ?? []) statements.retry.run(at, error, Number(id))
      for (const id of s.parked ?? []) statements.parked.run(error, Number(id))
    }),
    tables: TABLES
  }
}

interface ReportRow {
  registration_id: string
  outcome: string
  status_at: number
  error_code: string | null
  error_details: string | null
  reference: string
  provider_message_id: string | null
  mobile_number: string
  customer_id: string
  batch_id: string
  request_id: string
  sender_id: string
  metadata: string
}

interface IncomingRow {
  registration_id: string
  from_number: string
  to_address: string
  body: string
  sent_at: number
}
