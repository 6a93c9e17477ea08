import type Database from 'better-sqlite3'
import type { ClaimedMessage, ClaimScope, FailedMessage, RescheduledMessage, SubmittedMessage } from './store.js'
import { claimLimit, claimTurns, servedBy } from './claim-turns.js'
import { createReportQueue } from './sqlite-report-queue.js'
import { gapRanges, gapsBetween, idSpan, segmentsOf, segmentsTaken, settleUnderClaims, type ClaimMembers, type Gap, type SettlementItem } from './request-claims.js'

interface BatchInfo {
  registration_id: string
  sender_id: string
  scheduled_at: number
  trace_id: string | null
}

interface DueRow {
  id: number
  at: number
  batch_id: number
  reference: string
  mobile_number: string
  body: string
  attempts: number
}

/** A claim's segments and lease, without its members. */
interface ClaimSpan {
  registration_id: string
  lease_until: number
  segments: string
}

interface ClaimRow {
  id: number
  message_ids: string
  attempts: string
}

const members = (row: ClaimRow): ClaimMembers => ({ claimId: row.id, ids: JSON.parse(row.message_ids), attempts: JSON.parse(row.attempts) })

/**
 * The relay's side of the SQLite store: claims (one row per outgoing request, owned by `owner`,
 * this store's instance; see request-claims.ts), submissions, retries and failures.
 */
export function createRelayQueries (db: Database.Database, owner: string) {
  // One index (state, registration, due time, and the rowid) gives a registration's due order; a
  // claim reads the gaps between the segments its live claims took, each as index ranges (gapRanges).
  const atOneTime = db.prepare<[{ registration: string; at: number; afterId: number; beforeId: number; now: number; limit: number }], DueRow>(`
    SELECT id, next_attempt_at AS at, batch_id, reference, mobile_number, body, attempts FROM messages
    WHERE state = 'queued' AND registration_id = @registration AND next_attempt_at = @at AND id > @afterId AND id < @beforeId AND next_attempt_at <= @now
    ORDER BY id LIMIT @limit`)
  const betweenTimes = db.prepare<[{ registration: string; afterAt: number; beforeAt: number; now: number; limit: number }], DueRow>(`
    SELECT id, next_attempt_at AS at, batch_id, reference, mobile_number, body, attempts FROM messages
    WHERE state = 'queued' AND registration_id = @registration AND next_attempt_at > @afterAt AND next_attempt_at < @beforeAt AND next_attempt_at <= @now
    ORDER BY next_attempt_at, id LIMIT @limit`)
  /** Up to `limit` messages of `registration` in `gap` due at `now`, earliest first. */
  const readGap = (registration: string, gap: Gap, now: number, limit: number): DueRow[] => {
    const rows: DueRow[] = []
    for (const range of gapRanges(gap)) {
      if (rows.length >= limit) break
      const more = { registration, now, limit: limit - rows.length }
      rows.push(...('at' in range ? atOneTime.all({ ...range, ...more }) : betweenTimes.all({ ...range, ...more })))
    }
    return rows
  }
  // The registrations with queued messages, one index seek each (a skip scan).
  const nextRegistration = db.prepare<[string], { registration_id: string }>(
    "SELECT registration_id FROM messages WHERE state = 'queued' AND registration_id > ? ORDER BY registration_id LIMIT 1")
  const spans = db.prepare<[], ClaimSpan>('SELECT registration_id, lease_until, segments FROM claims')
  const paused = db.prepare<[], { registration_id: string }>('SELECT registration_id FROM paused_registrations')
  const spansOf = db.prepare<[string], ClaimSpan>('SELECT registration_id, lease_until, segments FROM claims WHERE registration_id = ?')
  const expiredOf = db.prepare<[string, number], ClaimRow>('SELECT id, message_ids, attempts FROM claims WHERE registration_id = ? AND lease_until <= ?')
  const covering = db.prepare<[number, number], ClaimRow>('SELECT id, message_ids, attempts FROM claims WHERE first_id <= ? AND last_id >= ?')
  const addClaim = db.prepare(`
    INSERT INTO claims (registration_id, owner, claimed_at, lease_until, first_id, last_id, segments, message_ids, attempts, open)
    VALUES (@registration, @owner, @now, @leaseUntil, @first, @last, @segments, @ids, @attempts, @open)`)
  const keepMembers = db.prepare('UPDATE claims SET message_ids = ?, attempts = ?, open = ? WHERE id = ?')
  const endClaim = db.prepare('DELETE FROM claims WHERE id = ?')
  // An expired claim's attempt counts for its messages not settled since (so that a crash loop ends).
  const countAttempt = db.prepare("UPDATE messages SET attempts = attempts + 1 WHERE id = ? AND state = 'queued' AND attempts = ?")
  const batchInfo = db.prepare<[number], BatchInfo>('SELECT registration_id, sender_id, scheduled_at, trace_id FROM batches WHERE id = ?')
  const anySuppressed = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM suppressions WHERE registration_id = ? LIMIT 1')
  const isSuppressed = db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM suppressions WHERE registration_id = ? AND msisdn = ?')
  // Each settlement item has held under its claim (settleUnderClaims); the state and attempt checks make sure of it.
  const submit = db.prepare(`
    UPDATE messages SET state = 'submitted', provider_message_id = ?, attempts = ?, lease_owner = ?, updated_at = ?
    WHERE id = ? AND state = 'queued' AND attempts = ?`)
  const requeue = db.prepare(`
    UPDATE messages SET next_attempt_at = ?, last_error = ?, attempts = ?, lease_owner = ?, updated_at = ?
    WHERE id = ? AND state = 'queued' AND attempts = ?`)
  const failClaimed = db.prepare(`
    UPDATE messages SET state = 'failed', final_outcome = ?, last_error = ?, attempts = ?, lease_owner = ?, updated_at = ?
    WHERE id = ? AND state = 'queued' AND attempts = ?`)
  const failUnclaimed = db.prepare(`
    UPDATE messages SET state = 'failed', final_outcome = ?, last_error = ?, updated_at = ?
    WHERE id = ? AND state = 'queued'`)
  const queueReport = createReportQueue(db)

  /**
   * Each registration with queued messages outside its live claims, or with claims, and when its
   * first becomes due; a registration an operator paused is left out (nothing of it is due).
   */
  const earliestByRegistration = (): Map<string, number> => {
    const held = new Set(paused.all().map((p) => p.registration_id))
    const claims = new Map<string, ClaimSpan[]>()
    for (const s of spans.all()) claims.set(s.registration_id, [...claims.get(s.registration_id) ?? [], s])
    const earliest = new Map<string, number>()
    const consider = (registration: string, at: number): void => { earliest.set(registration, Math.min(at, earliest.get(registration) ?? at)) }
    for (let row = nextRegistration.get(''); row !== undefined; row = nextRegistration.get(row.registration_id)) {
      const registration = row.registration_id
      if (held.has(registration)) continue
      const live = claims.get(registration) ?? []
      for (const gap of gapsBetween(segmentsOf(live))) {
        const [first] = readGap(registration, gap, Number.MAX_SAFE_INTEGER, 1)
        if (first === undefined) continue
        consider(registration, first.at)
        break
      }
    }
    // A claim's messages are due again when its lease ends (if they were never settled).
    for (const [registration, of] of claims) if (!held.has(registration)) for (const c of of) consider(registration, c.lease_until)
    return earliest
  }

  /** Ends the claims of `registration` whose lease ran out: their unsettled messages count the attempt and are free again. */
  const endExpired = (registration: string, now: number): void => {
    for (const row of expiredOf.all(registration, now)) {
      const c = members(row)
      c.ids.forEach((id, i) => countAttempt.run(id, c.attempts[i]))
      endClaim.run(c.claimId)
    }
  }

  const claim = db.transaction((now: number, limit: number, leaseMs: number, scope?: ClaimScope): ClaimedMessage[] => {
    const due = [...earliestByRegistration()].filter(([, at]) => at <= now).map(([registration]) => registration)
    // The first registration in turn with messages to take (one due only by an expired claim may have none left).
    for (const registration of claimTurns(due, scope)) {
      const rows = claimIn(registration, now, claimLimit(registration, limit, scope), leaseMs)
      if (rows.length > 0) return rows
    }
    return []
  })

  /** Up to `limit` due messages of `registration` outside its live claims, claimed as one row until `now + leaseMs`. */
  const claimIn = (registration: string, now: number, limit: number, leaseMs: number): ClaimedMessage[] => {
    endExpired(registration, now)
    const rows: Array<DueRow & { gap: number }> = []
    for (const [gap, between] of gapsBetween(segmentsOf(spansOf.all(registration))).entries()) {
      if (rows.length >= limit || between.after[0] > now) break
      for (const row of readGap(registration, between, now, limit - rows.length)) rows.push({ ...row, gap })
    }
    if (rows.length === 0) return []
    const ids = rows.map((row) => row.id)
    const { first, last } = idSpan(ids)
    addClaim.run({
      registration, owner, now, leaseUntil: now + leaseMs, first, last, segments: JSON.stringify(segmentsTaken(rows)),
      ids: JSON.stringify(ids), attempts: JSON.stringify(rows.map((row) => row.attempts)), open: rows.length
    })
    // Each batch's facts read once per claim; the suppression list only when the registration has one.
    const batches = new Map([...new Set(rows.map((row) => row.batch_id))].map((id) => [id, batchInfo.get(id)!]))
    const suppressed = anySuppressed.get(registration) === undefined ? () => false : (msisdn: string) => isSuppressed.get(registration, msisdn) !== undefined
    return rows.map((row) => {
      const batch = batches.get(row.batch_id)!
      return {
        ...(suppressed(row.mobile_number) ? { optedOut: true as const } : {}),
        ...(batch.trace_id === null ? {} : { traceId: batch.trace_id }),
        id: String(row.id),
        reference: row.reference,
        registrationId: batch.registration_id,
        senderId: batch.sender_id,
        msisdn: row.mobile_number,
        text: row.body,
        attempts: row.attempts + 1,
        dueSince: batch.scheduled_at
      }
    })
  }

  /**
   * The items that hold under their claims (see settleUnderClaims), each applied by `apply`, and
   * the claims they settled updated: a claim with no member left ends.
   */
  const settle = <T extends { id: string; attempt?: number }>(items: readonly T[], apply: (item: T & SettlementItem) => void): void => {
    const named = items.flatMap((item) => {
      const dbId = Number(item.id)
      return Number.isSafeInteger(dbId) ? [{ ...item, dbId }] : []
    })
    if (named.length === 0) return
    const { first, last } = idSpan(named.map((item) => item.dbId))
    const settled = settleUnderClaims(covering.all(last, first).map(members), named)
    for (const item of settled.items) apply(item)
    for (const c of settled.claims) {
      if (c.ids.length === 0) endClaim.run(c.claimId)
      else keepMembers.run(JSON.stringify(c.ids), JSON.stringify(c.attempts), c.ids.length, c.claimId)
    }
  }

  return {
    claimDue: (now: number, limit: number, leaseMs: number, scope?: ClaimScope) => claim.immediate(now, limit, leaseMs, scope),
    markSubmitted: db.transaction((results: SubmittedMessage[], now: number) => {
      settle(results, (r) => { submit.run(r.providerMessageId, r.attempt, owner, now, r.dbId, r.attempt - 1) })
    }),
    reschedule: db.transaction((items: RescheduledMessage[], error: string, now: number, refund: number) => {
      settle(items, (item) => { requeue.run(item.at, error, item.attempt - refund, owner, now, item.dbId, item.attempt - 1) })
    }),
    fail: db.transaction((items: FailedMessage[], now: number) => {
      settle(items, (item) => {
        const ended = item.attempt === undefined
          ? failUnclaimed.run(item.outcome, item.reason, now, item.dbId)
          : failClaimed.run(item.outcome, item.reason, item.attempt, owner, now, item.dbId, item.attempt - 1)
        if (ended.changes === 1) {
          queueReport({ messageId: item.dbId, outcome: item.outcome, statusAt: now, errorCode: item.errorCode ?? null, errorDetails: item.reason, now })
        }
      })
    }),
    nextDueAt: (excluded: readonly string[] = [], only?: readonly string[]): number | undefined => {
      const times = [...earliestByRegistration()].filter(([registration]) => servedBy(registration, excluded, only)).map(([, at]) => at)
      return times.length === 0 ? undefined : Math.min(...times)
    }
  }
}
