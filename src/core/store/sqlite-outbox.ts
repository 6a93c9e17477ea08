import type Database from 'better-sqlite3'
import { claimOrder, leaseStatement } from './sqlite-lease.js'
import { pendingIncomingOf, pendingReportOf, type IncomingRow, type ReportRow } from './outbox-rows.js'
import type { OutboxName, OutboxSettlement, PendingIncoming, PendingReport } from './store.js'
import { OUTBOX_ROW_OVERHEAD_BYTES } from './outbox-weight.js'

const TABLES: Record<OutboxName, string> = { reports: 'reports', incoming: 'incoming_messages' }

interface Candidate { id: number; part: number | string; bytes: number }

/**
 * Lease (for `owner`, this store's instance), finish, retry and park rows of the two outboxes,
 * which share their bookkeeping columns.
 * A claim is bounded by rows and by bytes; a batch's metadata is read once per claim and shared
 * by all its reports, so a campaign's reports never hold one copy of it each.
 */
export function createOutboxQueries (db: Database.Database, owner: string) {
  // `part` is what rows may share (a report's batch); `bytes` what it weighs once.
  const candidates: Record<OutboxName, Database.Statement<[{ now: number; limit: number; state: string; excluded: string }], Candidate>> = {
    reports: db.prepare(`
      SELECT r.id, m.batch_id AS part, length(b.metadata) AS bytes
      FROM reports r JOIN messages m ON m.id = r.message_id JOIN batches b ON b.id = m.batch_id
      WHERE r.state = @state AND r.next_attempt_at <= @now
        AND r.registration_id NOT IN (SELECT value FROM json_each(@excluded))
      ORDER BY r.next_attempt_at LIMIT @limit`),
    incoming: db.prepare(`
      SELECT id, 'row-' || id AS part, length(body) AS bytes
      FROM incoming_messages WHERE state = @state AND next_attempt_at <= @now
        AND registration_id NOT IN (SELECT value FROM json_each(@excluded))
      ORDER BY next_attempt_at LIMIT @limit`)
  }
  // One statement leases the chosen rows (their ids as a JSON array).
  const leaseRows = (table: string) => leaseStatement<{ leaseUntil: number; ids: string }, { id: number; attempts: number }>(db, table, 'SELECT value FROM json_each(@ids)', 'id, attempts', owner)
  const leases = { reports: leaseRows('reports'), incoming: leaseRows('incoming_messages') }

  const reportDetails = db.prepare<[number], ReportRow>(`
    SELECT r.registration_id, r.outcome, r.status_at, r.error_code, r.error_details,
           m.reference, m.provider_message_id, COALESCE(m.given_number, m.mobile_number) AS mobile_number, m.customer_id, m.batch_id,
           b.batch_id AS optimove_batch_id, b.request_id, b.sender_id
    FROM reports r JOIN messages m ON m.id = r.message_id JOIN batches b ON b.id = m.batch_id WHERE r.id = ?`)
  const metadataOf = db.prepare<[number], { metadata: string }>('SELECT metadata FROM batches WHERE id = ?')
  const incomingDetails = db.prepare<[number], IncomingRow>(
    'SELECT registration_id, from_number, to_address, body, sent_at FROM incoming_messages WHERE id = ?')

  const settleStatements = (table: string) => ({
    done: db.prepare(`UPDATE ${table} SET state = 'done', lease_until = NULL WHERE id = ? AND state = 'sending'`),
    retry: db.prepare(`UPDATE ${table} SET state = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND state = 'sending'`),
    // A parked row's due time is when it was parked (what `requeueParked` compares `since` with).
    parked: db.prepare(`UPDATE ${table} SET state = 'parked', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND state = 'sending'`)
  })
  const settles = { reports: settleStatements('reports'), incoming: settleStatements('incoming_messages') }

  /** Leases due rows, expired leases first, up to `limit` rows and `maxBytes` (always at least one row). */
  const claim = (outbox: OutboxName, now: number, limit: number, leaseMs: number, maxBytes: number, excludedList: readonly string[]): Array<{ id: number; attempts: number }> => {
    const excluded = JSON.stringify(excludedList)
    const chosen: number[] = []
    const seen = new Set<number | string>()
    let bytes = 0
    choosing: for (const state of claimOrder('pending')) {
      for (const c of candidates[outbox].all({ now, limit: limit - chosen.length, state, excluded })) {
        const weight = OUTBOX_ROW_OVERHEAD_BYTES + (seen.has(c.part) ? 0 : c.bytes)
        if (chosen.length > 0 && bytes + weight > maxBytes) break choosing
        bytes += weight
        seen.add(c.part)
        chosen.push(c.id)
      }
    }
    const attempts = new Map<number, number>()
    for (const row of leases[outbox].all({ leaseUntil: now + leaseMs, ids: JSON.stringify(chosen) })) attempts.set(row.id, row.attempts)
    return chosen.map((id) => ({ id, attempts: attempts.get(id)! }))
  }

  const claimReports = db.transaction((now: number, limit: number, leaseMs: number, maxBytes: number, excluded: readonly string[]): PendingReport[] => {
    const metadata = new Map<number, string>()
    return claim('reports', now, limit, leaseMs, maxBytes, excluded).map(({ id, attempts }) => {
      const r = reportDetails.get(id)!
      let metadataJson = metadata.get(r.batch_id)
      if (metadataJson === undefined) {
        metadataJson = metadataOf.get(r.batch_id)!.metadata
        metadata.set(r.batch_id, metadataJson)
      }
      return pendingReportOf(id, attempts, r, metadataJson)
    })
  })
  const claimIncoming = db.transaction((now: number, limit: number, leaseMs: number, maxBytes: number, excluded: readonly string[]): PendingIncoming[] =>
    claim('incoming', now, limit, leaseMs, maxBytes, excluded).map(({ id, attempts }) => {
      return pendingIncomingOf(id, attempts, incomingDetails.get(id)!)
    }))

  return {
    claimReports: (now: number, limit: number, leaseMs: number, maxBytes = Number.POSITIVE_INFINITY, excluded: readonly string[] = []) =>
      claimReports.immediate(now, limit, leaseMs, maxBytes, excluded),
    claimIncoming: (now: number, limit: number, leaseMs: number, maxBytes = Number.POSITIVE_INFINITY, excluded: readonly string[] = []) =>
      claimIncoming.immediate(now, limit, leaseMs, maxBytes, excluded),
    settle: db.transaction((outbox: OutboxName, s: OutboxSettlement, now: number) => {
      const statements = settles[outbox]
      const error = s.error ?? null
      for (const id of s.done ?? []) statements.done.run(Number(id))
      for (const { id, at } of s.retry ?? []) statements.retry.run(at, error, Number(id))
      for (const id of s.parked ?? []) statements.parked.run(now, error, Number(id))
    }),
    tables: TABLES
  }
}
