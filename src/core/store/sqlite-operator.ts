import type Database from 'better-sqlite3'
import type { BatchLookup, CancelResult, EraseResult, MessageLookup, MessageState, OutboxState, Suppression } from './store.js'
import { batchRecord, messageRecord, reportRecord, type BatchRow, type MessageRow, type ReportRow } from './stored-records.js'
import { withClaimsShown } from './request-claims.js'
import { CLAIM_COLUMNS, sqliteClaimLease as leaseOf, type SqliteClaimRow } from './sqlite-inspect.js'
import { CANCELLED_BY_ERASURE, CANCELLED_BY_OPERATOR, NOTHING_ERASED, cancellable, countMessages, heldByClaims, outboxCounts } from './operator-rules.js'
import { createReportQueue } from './sqlite-report-queue.js'

interface StateRow { id: number; state: MessageState; attempts: number }
type FoundMessage = MessageRow & { registration_id: string; optimove_batch_id: string; request_id: string }

/**
 * The operator's role of the SQLite store (see OperatorStore): lookups, requeueing parked rows,
 * cancelling a batch, pausing a registration, erasing a number. Each is one transaction; SQLite's
 * one writer means no claim can start while one of them writes.
 */
export function createOperatorQueries (db: Database.Database) {
  const claimsOf = db.prepare<[string], SqliteClaimRow>(`SELECT ${CLAIM_COLUMNS} FROM claims WHERE registration_id = ?`)
  const allClaims = db.prepare<[], SqliteClaimRow>(`SELECT ${CLAIM_COLUMNS} FROM claims`)
  const batches = db.prepare<{ key: string; id: number; limit: number }, BatchRow>(`
    SELECT * FROM batches WHERE id = @id OR uid = @key OR batch_id = @key OR request_id = @key ORDER BY id DESC LIMIT @limit`)
  const messagesOfBatch = db.prepare<[number], StateRow>('SELECT id, state, attempts FROM messages WHERE batch_id = ?')
  const reportsOfBatch = db.prepare<[number], { state: OutboxState; n: number }>(`
    SELECT r.state, COUNT(*) AS n FROM reports r JOIN messages m ON m.id = r.message_id WHERE m.batch_id = ? GROUP BY r.state`)
  const messages = db.prepare<{ key: string; limit: number }, FoundMessage>(`
    SELECT m.*, b.registration_id, b.batch_id AS optimove_batch_id, b.request_id FROM messages m JOIN batches b ON b.id = m.batch_id
    WHERE m.reference = @key OR m.provider_message_id = @key OR m.mobile_number = @key ORDER BY m.id DESC LIMIT @limit`)
  const historyOf = db.prepare<[number], { event_id: string; status: string | null; status_at: number | null; error_code: string | null; error_details: string | null; received_at: number }>(
    'SELECT event_id, status, status_at, error_code, error_details, received_at FROM webhook_events WHERE message_id = ? ORDER BY rowid')
  const reportsOf = db.prepare<[number], ReportRow>('SELECT * FROM reports WHERE message_id = ? ORDER BY id')

  const requeue = (table: string) => db.prepare<{ registration: string | null; since: number | null; now: number }>(`
    UPDATE ${table} SET state = 'pending', attempts = 0, next_attempt_at = @now, lease_until = NULL, lease_owner = NULL
    WHERE state = 'parked' AND (@registration IS NULL OR registration_id = @registration) AND (@since IS NULL OR next_attempt_at >= @since)`)
  const requeueReports = requeue('reports')
  const requeueIncoming = requeue('incoming_messages')

  const batchById = db.prepare<[number], { registration_id: string }>('SELECT registration_id FROM batches WHERE id = ?')
  const cancel = db.prepare(`UPDATE messages SET state = 'failed', final_outcome = 'cancelled', last_error = ?, updated_at = ? WHERE id = ? AND state = 'queued'`)
  const queueReport = createReportQueue(db)

  const pause = db.prepare('INSERT INTO paused_registrations (registration_id, paused_at) VALUES (?, ?) ON CONFLICT (registration_id) DO NOTHING')
  const resume = db.prepare('DELETE FROM paused_registrations WHERE registration_id = ?')
  const isPaused = db.prepare<[string], { registration_id: string }>('SELECT registration_id FROM paused_registrations WHERE registration_id = ?')
  const paused = db.prepare<[], { registration_id: string; paused_at: number }>('SELECT registration_id, paused_at FROM paused_registrations')

  const messagesTo = db.prepare<[string], StateRow & { registration_id: string }>('SELECT id, state, attempts, registration_id FROM messages WHERE mobile_number = ?')
  const eraseMessage = db.prepare("UPDATE messages SET mobile_number = '', given_number = NULL, body = '', last_error = replace(last_error, @msisdn, '') WHERE id = @id")
  const eraseReports = db.prepare(`UPDATE reports SET error_details = replace(error_details, @msisdn, ''), last_error = replace(last_error, @msisdn, '')
    WHERE message_id IN (SELECT value FROM json_each(@ids)) AND (instr(error_details, @msisdn) > 0 OR instr(last_error, @msisdn) > 0)`)
  const deleteReplies = db.prepare('DELETE FROM incoming_messages WHERE from_number = ?')
  const forgetRecipient = db.prepare('DELETE FROM recipient_registrations WHERE msisdn = ?')
  const suppress = db.prepare(`INSERT INTO suppressions (registration_id, msisdn, suppressed_at, source) VALUES (?, ?, ?, 'operator')
    ON CONFLICT (registration_id, msisdn) DO NOTHING`)
  const lift = db.prepare('DELETE FROM suppressions WHERE registration_id = ? AND msisdn = ?')
  const liftEverywhere = db.prepare('DELETE FROM suppressions WHERE msisdn = ?')
  const suppressionsOf = db.prepare<{ registration: string | null; limit: number }, { registration_id: string; msisdn: string; suppressed_at: number; source: 'stop' | 'operator' }>(`
    SELECT registration_id, msisdn, suppressed_at, source FROM suppressions WHERE @registration IS NULL OR registration_id = @registration
    ORDER BY registration_id, msisdn LIMIT @limit`)
  const eraseEvents = db.prepare(`UPDATE webhook_events SET raw = replace(raw, @msisdn, ''), error_details = replace(error_details, @msisdn, '')
    WHERE instr(raw, @msisdn) > 0 OR instr(error_details, @msisdn) > 0`)

  /** Ends the given queued messages as `cancelled`, each with its report; how many it ended. */
  const cancelMessages = (ids: readonly number[], reason: string, now: number): number => {
    let ended = 0
    for (const id of ids) {
      if (cancel.run(reason, now, id).changes === 0) continue
      queueReport({ messageId: id, outcome: 'cancelled', statusAt: now, errorDetails: reason, now })
      ended++
    }
    return ended
  }

  return {
    lookupBatches: db.transaction((key: string, limit: number): BatchLookup[] => {
      const numeric = /^\d{1,15}$/.test(key) ? Number(key) : -1
      return batches.all({ key, id: numeric, limit }).map((row) => {
        const reports = outboxCounts()
        for (const { state, n } of reportsOfBatch.all(row.id)) reports[state] = n
        const held = heldByClaims(claimsOf.all(row.registration_id).map(leaseOf))
        return { batch: batchRecord(row), messages: countMessages(messagesOfBatch.all(row.id), held), reports }
      })
    }),
    lookupMessages: db.transaction((key: string, limit: number): MessageLookup[] => {
      const found = messages.all({ key, limit })
      if (found.length === 0) return []
      const shown = withClaimsShown(found, allClaims.all().map(leaseOf))
      return found.map((row, i) => ({
        message: messageRecord(shown[i]!),
        registrationId: row.registration_id,
        batch: { batchId: row.optimove_batch_id, requestId: row.request_id },
        history: historyOf.all(row.id).map((e) => ({ eventId: e.event_id, status: e.status, statusAt: e.status_at, errorCode: e.error_code, errorDetails: e.error_details, receivedAt: e.received_at })),
        reports: reportsOf.all(row.id).map(reportRecord)
      }))
    }),
    requeueParked: db.transaction((filter: { registrationId?: string; since?: number }, now: number) => {
      const params = { registration: filter.registrationId ?? null, since: filter.since ?? null, now }
      return { reports: requeueReports.run(params).changes, incoming: requeueIncoming.run(params).changes }
    }),
    cancelBatch: db.transaction((batchId: string, now: number): CancelResult | undefined => {
      const id = /^\d{1,15}$/.test(batchId) ? Number(batchId) : -1
      const batch = batchById.get(id)
      if (batch === undefined) return undefined
      const { ids, inFlight, alreadyDone } = cancellable(messagesOfBatch.all(id), heldByClaims(claimsOf.all(batch.registration_id).map(leaseOf)))
      return { cancelled: cancelMessages(ids, CANCELLED_BY_OPERATOR, now), inFlight, alreadyDone }
    }),
    setRegistrationPaused: db.transaction((registrationId: string, wanted: boolean, now: number): boolean => {
      const before = isPaused.get(registrationId) !== undefined
      if (wanted) pause.run(registrationId, now)
      else resume.run(registrationId)
      return before
    }),
    pausedRegistrations: (): Array<{ registrationId: string; pausedAt: number }> =>
      paused.all().map((p) => ({ registrationId: p.registration_id, pausedAt: p.paused_at })).sort((a, b) => a.registrationId < b.registrationId ? -1 : 1),
    erasePhoneNumber: db.transaction((msisdn: string, now: number): EraseResult => {
      // An erased number is stored empty: an empty one names nothing to erase.
      if (msisdn === '') return { ...NOTHING_ERASED }
      const rows = messagesTo.all(msisdn)
      const registrations = new Set(rows.map((row) => row.registration_id))
      const claims = [...registrations].flatMap((r) => claimsOf.all(r).map(leaseOf))
      // Its messages not yet sent never will be: they end, reported without the number.
      cancelMessages(cancellable(rows, heldByClaims(claims)).ids, CANCELLED_BY_ERASURE, now)
      for (const row of rows) eraseMessage.run({ msisdn, id: row.id })
      eraseReports.run({ msisdn, ids: JSON.stringify(rows.map((row) => row.id)) })
      return {
        messages: rows.length,
        replies: deleteReplies.run(msisdn).changes,
        recipients: forgetRecipient.run(msisdn).changes,
        webhookEvents: eraseEvents.run({ msisdn }).changes,
        suppressions: liftEverywhere.run(msisdn).changes
      }
    }),
    setSuppressed: db.transaction((registrationId: string, msisdn: string, wanted: boolean, now: number): boolean => {
      if (wanted) return suppress.run(registrationId, msisdn, now).changes === 0
      return lift.run(registrationId, msisdn).changes === 1
    }),
    suppressions: (filter: { registrationId?: string }, limit: number): Suppression[] =>
      suppressionsOf.all({ registration: filter.registrationId ?? null, limit })
        .map((r) => ({ registrationId: r.registration_id, msisdn: r.msisdn, suppressedAt: r.suppressed_at, source: r.source }))
  }
}
