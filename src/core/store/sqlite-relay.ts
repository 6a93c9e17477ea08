import type Database from 'better-sqlite3'
import type { ClaimedMessage, ClaimScope, FailedMessage, MessageState, RescheduledMessage, SubmittedMessage } from './store.js'
import { claimOrder, leaseStatement } from './sqlite-lease.js'
import { claimLimit, claimTurns } from './claim-turns.js'
import { createReportQueue } from './sqlite-report-queue.js'

interface BatchInfo {
  registration_id: string
  sender_id: string
  scheduled_at: number
}

interface ClaimedRow {
  id: number
  batch_id: number
  reference: string
  mobile_number: string
  body: string
  attempts: number
}

/** The relay's side of the SQLite store: leases (owned by `owner`, this store's instance), submissions, retries and failures. */
export function createRelayQueries (db: Database.Database, owner: string) {
  // The lease end doubles as the next attempt time, so one index finds both kinds of due message
  // (per registration: a claim serves one).
  const claimIn = leaseStatement<{ leaseUntil: number; now: number; limit: number; state: string; registration: string }, ClaimedRow>(db, 'messages',
    'SELECT id FROM messages WHERE state = @state AND registration_id = @registration AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit',
    'id, batch_id, reference, mobile_number, body, attempts', owner, 'updated_at = @now')
  // The registrations with messages in a state, one index seek each (a skip scan), and each one's earliest.
  const nextRegistration = db.prepare<[string, string], { registration_id: string }>(
    'SELECT registration_id FROM messages WHERE state = ? AND registration_id > ? ORDER BY registration_id LIMIT 1')
  const earliestOf = db.prepare<[string, string], { at: number }>(
    'SELECT MIN(next_attempt_at) AS at FROM messages WHERE state = ? AND registration_id = ?')
  /** Each registration with queued or leased messages, and when its first becomes due. */
  const earliestByRegistration = (): Map<string, number> => {
    const earliest = new Map<string, number>()
    for (const state of claimOrder('queued') as readonly MessageState[]) {
      for (let row = nextRegistration.get(state, ''); row !== undefined; row = nextRegistration.get(state, row.registration_id)) {
        const at = earliestOf.get(state, row.registration_id)!.at
        earliest.set(row.registration_id, Math.min(at, earliest.get(row.registration_id) ?? at))
      }
    }
    return earliest
  }
  const batchInfo = db.prepare<[number], BatchInfo>('SELECT registration_id, sender_id, scheduled_at FROM batches WHERE id = ?')
  // Each settlement is fenced by its claim's attempt number (see ClaimFence in store.ts).
  const submit = db.prepare(`
    UPDATE messages SET state = 'submitted', provider_message_id = ?, lease_until = NULL, updated_at = ?
    WHERE id = ? AND state = 'sending' AND attempts = ?`)
  const requeue = db.prepare(`
    UPDATE messages SET state = 'queued', next_attempt_at = ?, lease_until = NULL, last_error = ?, attempts = attempts - ?, updated_at = ?
    WHERE id = ? AND state = 'sending' AND attempts = ?`)
  const failClaimed = db.prepare(`
    UPDATE messages SET state = 'failed', final_outcome = ?, last_error = ?, lease_until = NULL, updated_at = ?
    WHERE id = ? AND state = 'sending' AND attempts = ?`)
  const failUnclaimed = db.prepare(`
    UPDATE messages SET state = 'failed', final_outcome = ?, last_error = ?, lease_until = NULL, updated_at = ?
    WHERE id = ? AND state IN ('queued', 'sending')`)
  const queueReport = createReportQueue(db)
  const claim = db.transaction((now: number, limit: number, leaseMs: number, scope?: ClaimScope): ClaimedMessage[] => {
    const due = [...earliestByRegistration()].filter(([, at]) => at <= now).map(([registration]) => registration)
    const registration = claimTurns(due, scope)[0]
    if (registration === undefined) return []
    const most = claimLimit(registration, limit, scope)
    const leaseUntil = now + leaseMs
    const rows: ClaimedRow[] = []
    for (const state of claimOrder('queued')) rows.push(...claimIn.all({ leaseUntil, now, limit: most - rows.length, state, registration }))
    // Each batch's facts read once per claim.
    const batches = new Map([...new Set(rows.map((row) => row.batch_id))].map((id) => [id, batchInfo.get(id)!]))
    return rows.map((row) => {
      const batch = batches.get(row.batch_id)!
      return {
        id: String(row.id),
        reference: row.reference,
        registrationId: batch.registration_id,
        senderId: batch.sender_id,
        msisdn: row.mobile_number,
        text: row.body,
        attempts: row.attempts,
        dueSince: batch.scheduled_at
      }
    })
  })

  return {
    claimDue: (now: number, limit: number, leaseMs: number, scope?: ClaimScope) => claim.immediate(now, limit, leaseMs, scope),
    markSubmitted: db.transaction((results: SubmittedMessage[], now: number) => {
      for (const r of results) submit.run(r.providerMessageId, now, Number(r.id), r.attempt)
    }),
    reschedule: db.transaction((items: RescheduledMessage[], error: string, now: number, refund: number) => {
      for (const item of items) requeue.run(item.at, error, refund, now, Number(item.id), item.attempt)
    }),
    fail: db.transaction((items: FailedMessage[], now: number) => {
      for (const item of items) {
        const ended = item.attempt === undefined
          ? failUnclaimed.run(item.outcome, item.reason, now, Number(item.id))
          : failClaimed.run(item.outcome, item.reason, now, Number(item.id), item.attempt)
        if (ended.changes === 1) {
          queueReport({ messageId: Number(item.id), outcome: item.outcome, statusAt: now, errorCode: item.errorCode ?? null, errorDetails: item.reason, now })
        }
      }
    }),
    nextDueAt: (excluded: readonly string[] = []): number | undefined => {
      const times = [...earliestByRegistration()].filter(([registration]) => !excluded.includes(registration)).map(([, at]) => at)
      return times.length === 0 ? undefined : Math.min(...times)
    }
  }
}
