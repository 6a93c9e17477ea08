import type pg from 'pg'
import type { ClaimedMessage, ClaimScope, FailedMessage, RescheduledMessage, SubmittedMessage } from './store.js'
import { claimLimit, claimTurns } from './claim-turns.js'
import { dbId } from './pg-pool.js'
import { dueRows, leaseAssignments } from './pg-lease.js'
import { queueReportsFrom } from './pg-report-queue.js'

interface ClaimedRow {
  id: number
  reference: string
  mobile_number: string
  body: string
  attempts: number
  registration_id: string
  sender_id: string
  scheduled_at: number
  claim_rank: number
  due_at: number
}

// Of one registration ($5): expired leases first, then due queued messages, each oldest first
// (see dueRows), with their batch's facts.
const CLAIM = `
  WITH chosen AS MATERIALIZED (${dueRows('messages', 'queued', 'registration_id = $5')})
  UPDATE messages m SET ${leaseAssignments('m', '$3', '$4')}, updated_at = $1
  FROM chosen c, batches b
  WHERE m.id = c.id AND b.id = m.batch_id
  RETURNING m.id, m.reference, m.mobile_number, m.body, m.attempts, m.registration_id, b.sender_id, b.scheduled_at, c.claim_rank, c.due_at`

// Each registration with queued or leased messages and the earliest of each state: the distinct
// registrations found by one index seek each (a skip scan of the partial indexes), then one MIN each.
const skipScan = (state: string) => `
  ${state}(r) AS (
    SELECT MIN(registration_id) FROM messages WHERE state = '${state === 'leased' ? 'sending' : 'queued'}'
    UNION ALL
    SELECT (SELECT MIN(registration_id) FROM messages WHERE state = '${state === 'leased' ? 'sending' : 'queued'}' AND registration_id > s.r)
    FROM ${state} s WHERE s.r IS NOT NULL
  )`
const EARLIEST_BY_REGISTRATION = `
  WITH RECURSIVE ${skipScan('queued')}, ${skipScan('leased')}
  SELECT r AS registration_id, (SELECT MIN(next_attempt_at) FROM messages WHERE state = 'queued' AND registration_id = r) AS at
  FROM queued WHERE r IS NOT NULL
  UNION ALL
  SELECT r, (SELECT MIN(next_attempt_at) FROM messages WHERE state = 'sending' AND registration_id = r)
  FROM leased WHERE r IS NOT NULL`

// Each settlement is fenced by its claim's attempt number (see ClaimFence in store.ts). Of the
// items that name one message, the first whose fence holds wins, as when they are applied one by
// one (the first settles the message, and the fence then turns the others away). `columns`: what
// each item carries after its id and attempt ($1, $2), as $3, $4, ... with their types.
const fencedItems = (columns: Array<[name: string, type: string]>): string => `
  SELECT DISTINCT ON (u.id) u.id, u.attempt, ${columns.map(([name]) => `u.${name}`).join(', ')}
  FROM unnest($1::bigint[], $2::int[], ${columns.map(([, type], i) => `$${i + 3}::${type}[]`).join(', ')})
       WITH ORDINALITY AS u (id, attempt, ${columns.map(([name]) => name).join(', ')}, ord)
  JOIN messages x ON x.id = u.id AND x.state = 'sending' AND x.attempts = u.attempt
  ORDER BY u.id, u.ord`
const FENCE_HOLDS = `m.id = w.id AND m.state = 'sending' AND m.attempts = w.attempt`

const SUBMIT = `
  UPDATE messages m SET state = 'submitted', provider_message_id = w.provider_id, lease_until = NULL, updated_at = $4
  FROM (${fencedItems([['provider_id', 'text']])}) w
  WHERE ${FENCE_HOLDS}`

const REQUEUE = `
  UPDATE messages m SET state = 'queued', next_attempt_at = w.at, lease_until = NULL, last_error = $4, attempts = m.attempts - $5, updated_at = $6
  FROM (${fencedItems([['at', 'bigint']])}) w
  WHERE ${FENCE_HOLDS}`

// A failure with a claim ends only that claim's message; without one, a message still queued
// (or leased) may end too. Each ended message's report is queued by the same statement, in the
// order of the items.
const FAILABLE = (m: string) => `CASE WHEN w.attempt IS NULL THEN ${m}.state IN ('queued', 'sending') ELSE ${m}.state = 'sending' AND ${m}.attempts = w.attempt END`
const FAIL = `
  WITH ended AS (
    UPDATE messages m SET state = 'failed', final_outcome = w.outcome, last_error = w.reason, lease_until = NULL, updated_at = $6
    FROM (
      SELECT DISTINCT ON (w.id) w.*
      FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS w (id, attempt, outcome, reason, error_code, ord)
      JOIN messages x ON x.id = w.id AND ${FAILABLE('x')}
      ORDER BY w.id, w.ord
    ) w, batches b
    WHERE m.id = w.id AND ${FAILABLE('m')} AND b.id = m.batch_id
    RETURNING m.id AS message_id, b.registration_id, w.outcome, $6::bigint AS status_at, w.error_code, w.reason AS error_details, $6::bigint AS at, w.ord
  )
  ${queueReportsFrom('ended')}`

/** The items with the database's ids; an id no message can have names none, as elsewhere. */
function withDbIds<T extends { id: string }> (items: readonly T[]): Array<T & { dbId: number }> {
  return items.flatMap((item) => {
    const id = dbId(item.id)
    return id === undefined ? [] : [{ ...item, dbId: id }]
  })
}

/**
 * The relay's side of the PostgreSQL store: claims safe with many processes (owned by `owner`,
 * this store's instance), and each kind of settlement as one set-based statement, however many
 * messages it settles.
 */
export function createPgRelay (pool: pg.Pool, owner: string) {
  /** Each registration with queued or leased messages, and when its first becomes due. */
  const earliestByRegistration = async (): Promise<Map<string, number>> => {
    const { rows } = await pool.query<{ registration_id: string; at: number }>(EARLIEST_BY_REGISTRATION)
    const earliest = new Map<string, number>()
    for (const { registration_id: registration, at } of rows) earliest.set(registration, Math.min(at, earliest.get(registration) ?? at))
    return earliest
  }
  /** One registration's due messages, leased; none when other processes' claims took them all meanwhile. */
  const claimOf = async (registration: string, now: number, limit: number, leaseMs: number): Promise<ClaimedRow[]> =>
    (await pool.query<ClaimedRow>(CLAIM, [now, limit, now + leaseMs, owner, registration])).rows

  return {
    async claimDue (now: number, limit: number, leaseMs: number, scope?: ClaimScope): Promise<ClaimedMessage[]> {
      const due = [...await earliestByRegistration()].filter(([, at]) => at <= now).map(([registration]) => registration)
      let rows: ClaimedRow[] = []
      for (const registration of claimTurns(due, scope)) {
        rows = await claimOf(registration, now, claimLimit(registration, limit, scope), leaseMs)
        if (rows.length > 0) break
      }
      // In claim order: expired leases first, then the rest, each oldest first.
      rows.sort((a, b) => a.claim_rank - b.claim_rank || a.due_at - b.due_at || a.id - b.id)
      return rows.map((row) => ({
        id: String(row.id),
        reference: row.reference,
        registrationId: row.registration_id,
        senderId: row.sender_id,
        msisdn: row.mobile_number,
        text: row.body,
        attempts: row.attempts,
        dueSince: row.scheduled_at
      }))
    },
    async markSubmitted (results: SubmittedMessage[], now: number): Promise<void> {
      const items = withDbIds(results)
      if (items.length === 0) return
      await pool.query(SUBMIT, [items.map((r) => r.dbId), items.map((r) => r.attempt), items.map((r) => r.providerMessageId), now])
    },
    async reschedule (items: RescheduledMessage[], error: string, now: number, refund: number): Promise<void> {
      const each = withDbIds(items)
      if (each.length === 0) return
      await pool.query(REQUEUE, [each.map((r) => r.dbId), each.map((r) => r.attempt), each.map((r) => r.at), error, refund, now])
    },
    async fail (items: FailedMessage[], now: number): Promise<void> {
      const each = withDbIds(items)
      if (each.length === 0) return
      await pool.query(FAIL, [
        each.map((r) => r.dbId), each.map((r) => r.attempt ?? null), each.map((r) => r.outcome), each.map((r) => r.reason), each.map((r) => r.errorCode ?? null), now
      ])
    },
    async nextDueAt (excluded: readonly string[] = []): Promise<number | undefined> {
      const times = [...await earliestByRegistration()].filter(([registration]) => !excluded.includes(registration)).map(([, at]) => at)
      return times.length === 0 ? undefined : Math.min(...times)
    }
  }
}
