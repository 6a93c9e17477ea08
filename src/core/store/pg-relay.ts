import type pg from 'pg'
import type { ClaimedMessage, ClaimScope, FailedMessage, RescheduledMessage, SubmittedMessage } from './store.js'
import { claimLimit, claimTurns, servedBy } from './claim-turns.js'
import { dbId, inTransaction } from './pg-pool.js'
import { keyedState, keyedValue, valuesById } from './pg-keyed-plans.js'
import { queueReportsFrom } from './pg-report-queue.js'
import { gapRanges, gapsBetween, idSpan, segmentsOf, segmentsTaken, settleUnderClaims, type ClaimMembers, type Gap, type SettlementItem } from './request-claims.js'

interface DueRow {
  gap: number
  id: number
  at: number
  reference: string
  mobile_number: string
  body: string
  attempts: number
  registration_id: string
  sender_id: string
  scheduled_at: number
  trace_id: string | null
  opted_out: boolean
}

interface ClaimRow {
  id: number
  message_ids: string[]
  attempts: string[]
}

const members = (row: ClaimRow): ClaimMembers => ({ claimId: row.id, ids: row.message_ids.map(Number), attempts: row.attempts.map(Number) })

/** The advisory lock class under which claims of one registration (its hashed id) take turns across processes. */
export const CLAIM_LOCK_CLASS = 730_519_622

// A message's id as the due index holds it (migration 7): an expression the primary key cannot
// serve, so that a claim reads the queue through the due index alone, whatever the planner's
// statistics say. With the statistics taken while the queue was full, a range of ids (`m.id > …
// AND m.id < …`) was read through the primary key, every message sent since stepped over: 50,000
// rows for a claim of 1,000 (`test/core/store/pg-keyed-plans.test.ts`), and a relay of three
// replicas fell from 25,000 to 8,000 messages a second in `bench:replicas`.
const DUE_ID = '(m.id + 0)'

// The gaps between a registration's live claims' segments, as index ranges (gapRanges) in
// parallel arrays ($2..$7: gap, kind, and the range's due times and ids), in due order: 0, at one
// due time ($4) between two ids ($6, $7); 1, strictly between two due times ($4, $5). Each
// range is one seek of the due index (registration, due time, id) with both its ends, so no
// claimed or settled message is ever stepped over.
const RANGES = `unnest($2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
  WITH ORDINALITY AS g (gap, kind, at1, at2, id1, id2, ord)`
const IN_RANGE = (columns: string, due: string, limit: string): string => `
  (SELECT ${columns} FROM messages m WHERE g.kind = 0 AND m.state = 'queued' AND m.registration_id = $1
     AND m.next_attempt_at = g.at1 AND ${DUE_ID} > g.id1 AND ${DUE_ID} < g.id2${due} ORDER BY ${DUE_ID} LIMIT ${limit})
  UNION ALL
  (SELECT ${columns} FROM messages m WHERE g.kind = 1 AND m.state = 'queued' AND m.registration_id = $1
     AND m.next_attempt_at > g.at1 AND m.next_attempt_at < g.at2${due} ORDER BY m.next_attempt_at, ${DUE_ID} LIMIT ${limit})`

// Of one registration ($1): up to $9 messages due at $8, range after range, each earliest first.
// Each with whether its number is on the registration's suppression list (one probe of its key).
const DUE = `
  SELECT g.gap, m.id, m.at, m.reference, m.mobile_number, m.body, m.attempts, m.registration_id, b.sender_id, b.scheduled_at, b.trace_id,
    EXISTS (SELECT 1 FROM suppressions s WHERE s.registration_id = $1 AND s.msisdn = m.mobile_number) AS opted_out
  FROM ${RANGES}
  CROSS JOIN LATERAL (${IN_RANGE('m.id, m.next_attempt_at AS at, m.reference, m.mobile_number, m.body, m.attempts, m.registration_id, m.batch_id', ' AND m.next_attempt_at <= $8', '$9')}) m
  JOIN batches b ON b.id = m.batch_id
  LIMIT $9`

// The earliest due time of one registration's messages outside its live claims.
const EARLIEST = `
  SELECT min(m.at) AS at FROM ${RANGES}
  CROSS JOIN LATERAL (${IN_RANGE('m.next_attempt_at AS at', '', '1')}) m`

// The registrations with queued messages: one index seek each (a skip scan of the partial index).
const QUEUED_REGISTRATIONS = `
  WITH RECURSIVE queued(r) AS (
    SELECT MIN(registration_id) FROM messages WHERE state = 'queued'
    UNION ALL
    SELECT (SELECT MIN(registration_id) FROM messages WHERE state = 'queued' AND registration_id > q.r) FROM queued q WHERE q.r IS NOT NULL
  )
  SELECT r AS registration_id FROM queued WHERE r IS NOT NULL`

// Claims of one registration ($2) take turns across processes; a claim's commit need not wait
// for the disk (lost in a power cut, it costs what a crash costs: its messages are sent again).
const TAKE_TURN = `SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1, hashtext($2))`

// Expired claims end, and their attempt counts for their messages not settled since (so that a
// crash loop ends). Their messages are read by key, as a settlement's are (pg-keyed-plans.ts).
const END_EXPIRED = `
  WITH ended AS (DELETE FROM claims WHERE id = ANY($1::bigint[]) RETURNING message_ids, attempts),
  members AS (SELECT u.id, u.attempts FROM ended CROSS JOIN unnest(ended.message_ids, ended.attempts) AS u (id, attempts))
  UPDATE messages m SET attempts = m.attempts + 1
  WHERE m.id = ANY(ARRAY(SELECT id FROM members)) AND ${keyedState('m', 'queued')}
    AND m.attempts = ((SELECT jsonb_object_agg(id::text, attempts) FROM members) ->> m.id::text)::int`

const ADD_CLAIM = `
  INSERT INTO claims (registration_id, owner, claimed_at, lease_until, first_id, last_id, segments, message_ids, attempts, open)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bigint[], $9::bigint[], $10)`

// Each item holds under its claim (settleUnderClaims); the state and attempt checks make sure of it.
// Each reads its messages by key, `$1` their ids, `$2` each one's values (pg-keyed-plans.ts).
// Each settlement statement also ends the claims it settled whole (their ids: its last parameter, `$n`).
const ENDING = (n: number): string => `WITH ended_claims AS (DELETE FROM claims WHERE id = ANY($${n}::bigint[]))`
const given = (index: number): string => keyedValue('$2', 'm', index)
const BY_KEY = `m.id = ANY($1::bigint[]) AND ${keyedState('m', 'queued')}`

// Values: [attempt, provider's id].
const SUBMIT = `${ENDING(5)}
  UPDATE messages m SET state = 'submitted', provider_message_id = ${given(1)}, attempts = ${given(0)}::int, lease_owner = $3, updated_at = $4
  WHERE ${BY_KEY} AND m.attempts = ${given(0)}::int - 1`

// Values: [attempt, when due again].
const REQUEUE = `${ENDING(7)}
  UPDATE messages m SET next_attempt_at = ${given(1)}::bigint, last_error = $3, attempts = ${given(0)}::int - $4, lease_owner = $5, updated_at = $6
  WHERE ${BY_KEY} AND m.attempts = ${given(0)}::int - 1`

// Values: [attempt or null, outcome, reason, error code or null, place in the items].
// A failure with a claim ends only that claim's message; without one, any message still queued.
// Each ended message's report is queued by the same statement, in the order of the items.
const FAIL = `${ENDING(5)}, ended AS (
    UPDATE messages m SET state = 'failed', final_outcome = ${given(1)}, last_error = ${given(2)}, attempts = COALESCE(${given(0)}::int, m.attempts),
      lease_owner = CASE WHEN ${given(0)} IS NULL THEN m.lease_owner ELSE $4 END, updated_at = $3
    WHERE ${BY_KEY} AND (${given(0)} IS NULL OR m.attempts = ${given(0)}::int - 1)
    RETURNING m.id AS message_id, m.registration_id, ${given(1)} AS outcome, $3::bigint AS status_at, ${given(3)} AS error_code,
      ${given(2)} AS error_details, $3::bigint AS at, ${given(4)}::int AS ord
  )
  ${queueReportsFrom('ended')}`

/** The gaps' index ranges as the statements' parallel arrays ($2..$7). */
function rangeArrays (gaps: readonly Gap[]): number[][] {
  const arrays: number[][] = [[], [], [], [], [], []]
  gaps.forEach((gap, g) => {
    for (const range of gapRanges(gap)) {
      const row = 'at' in range ? [g, 0, range.at, range.at, range.afterId, range.beforeId] : [g, 1, range.afterAt, range.beforeAt, 0, 0]
      row.forEach((value, i) => arrays[i]!.push(value))
    }
  })
  return arrays
}


/**
 * The relay's side of the PostgreSQL store: claims (one row per outgoing request, owned by
 * `owner`, this store's instance; see request-claims.ts), safe with many processes: the claims of
 * one registration take turns under an advisory lock, those of different registrations run at
 * once; each settlement is a few set-based statements, however many messages it settles.
 */
export function createPgRelay (pool: pg.Pool, owner: string) {
  /** Each registration with queued messages outside its live claims, or with claims, and when its first becomes due (paused ones left out). */
  const earliestByRegistration = async (): Promise<Map<string, number>> => {
    // A registration an operator paused is left out: nothing of it is due.
    const paused = new Set((await pool.query<{ registration_id: string }>('SELECT registration_id FROM paused_registrations')).rows.map((p) => p.registration_id))
    const claims = (await pool.query<{ registration_id: string; lease_until: number; segments: string }>(
      'SELECT registration_id, lease_until, segments FROM claims')).rows.filter((c) => !paused.has(c.registration_id))
    const earliest = new Map<string, number>()
    const consider = (registration: string, at: number): void => { earliest.set(registration, Math.min(at, earliest.get(registration) ?? at)) }
    for (const { registration_id: registration } of (await pool.query<{ registration_id: string }>(QUEUED_REGISTRATIONS)).rows) {
      if (paused.has(registration)) continue
      const gaps = gapsBetween(segmentsOf(claims.filter((c) => c.registration_id === registration)))
      const [first] = (await pool.query<{ at: number | null }>(EARLIEST, [registration, ...rangeArrays(gaps)])).rows
      if (first?.at != null) consider(registration, first.at)
    }
    // A claim's messages are due again when its lease ends (if they were never settled).
    for (const c of claims) consider(c.registration_id, c.lease_until)
    return earliest
  }

  /** Up to `limit` due messages of `registration` outside its live claims, claimed as one row until `now + leaseMs`. */
  const claimIn = (registration: string, now: number, limit: number, leaseMs: number): Promise<DueRow[]> => inTransaction(pool, async (client) => {
    await client.query(TAKE_TURN, [CLAIM_LOCK_CLASS, registration])
    const claims = (await client.query<{ id: number; lease_until: number; segments: string }>(
      'SELECT id, lease_until, segments FROM claims WHERE registration_id = $1', [registration])).rows
    const expired = claims.filter((c) => c.lease_until <= now).map((c) => c.id)
    if (expired.length > 0) await client.query(END_EXPIRED, [expired])
    const ranges = rangeArrays(gapsBetween(segmentsOf(claims.filter((c) => c.lease_until > now))))
    const rows = (await client.query<DueRow>(DUE, [registration, ...ranges, now, limit])).rows
    if (rows.length === 0) return rows
    rows.sort((a, b) => a.gap - b.gap || a.at - b.at || a.id - b.id)
    const ids = rows.map((row) => row.id)
    const { first, last } = idSpan(ids)
    await client.query(ADD_CLAIM, [
      registration, owner, now, now + leaseMs, first, last, JSON.stringify(segmentsTaken(rows)), ids, rows.map((row) => row.attempts), rows.length
    ])
    return rows
  })

  /**
   * The items that hold under their claims (see settleUnderClaims), applied by `apply` in one
   * transaction with the claims they settled (each locked meanwhile): a claim with no member left
   * ends (`apply` deletes the `ended` claims by the same statement).
   */
  const settle = async <T extends { id: string; attempt?: number }>(items: readonly T[], apply: (client: pg.PoolClient, items: Array<T & SettlementItem>, ended: number[]) => Promise<unknown>): Promise<void> => {
    const named = items.flatMap((item) => {
      const id = dbId(item.id)
      return id === undefined ? [] : [{ ...item, dbId: id }]
    })
    if (named.length === 0) return
    const { first, last } = idSpan(named.map((item) => item.dbId))
    await inTransaction(pool, async (client) => {
      const covering = (await client.query<ClaimRow>(
        'SELECT id, message_ids, attempts FROM claims WHERE first_id <= $1 AND last_id >= $2 ORDER BY id FOR UPDATE', [last, first])).rows
      const settled = settleUnderClaims(covering.map(members), named)
      const ended = settled.claims.filter((c) => c.ids.length === 0).map((c) => c.claimId)
      if (settled.items.length > 0) await apply(client, settled.items, ended)
      for (const c of settled.claims.filter((c) => c.ids.length > 0)) {
        await client.query('UPDATE claims SET message_ids = $2::bigint[], attempts = $3::bigint[], open = $4 WHERE id = $1', [c.claimId, c.ids, c.attempts, c.ids.length])
      }
    })
  }

  return {
    async claimDue (now: number, limit: number, leaseMs: number, scope?: ClaimScope): Promise<ClaimedMessage[]> {
      const due = [...await earliestByRegistration()].filter(([, at]) => at <= now).map(([registration]) => registration)
      let rows: DueRow[] = []
      // The first registration in turn with messages to take (another process may have taken them meanwhile).
      for (const registration of claimTurns(due, scope)) {
        rows = await claimIn(registration, now, claimLimit(registration, limit, scope), leaseMs)
        if (rows.length > 0) break
      }
      return rows.map((row) => ({
        ...(row.opted_out ? { optedOut: true as const } : {}),
        ...(row.trace_id === null ? {} : { traceId: row.trace_id }),
        id: String(row.id),
        reference: row.reference,
        registrationId: row.registration_id,
        senderId: row.sender_id,
        msisdn: row.mobile_number,
        text: row.body,
        attempts: row.attempts + 1,
        dueSince: row.scheduled_at
      }))
    },
    markSubmitted: (results: SubmittedMessage[], now: number): Promise<void> => settle(results, (client, items, ended) =>
      client.query(SUBMIT, [items.map((r) => r.dbId), valuesById(items, (r) => [r.attempt, r.providerMessageId]), owner, now, ended])),
    reschedule: (items: RescheduledMessage[], error: string, now: number, refund: number): Promise<void> => settle(items, (client, each, ended) =>
      client.query(REQUEUE, [each.map((r) => r.dbId), valuesById(each, (r) => [r.attempt, r.at]), error, refund, owner, now, ended])),
    fail: (items: FailedMessage[], now: number): Promise<void> => settle(items, (client, each, ended) =>
      client.query(FAIL, [each.map((r) => r.dbId), valuesById(each, (r, i) => [r.attempt ?? null, r.outcome, r.reason, r.errorCode ?? null, i + 1]), now, owner, ended])),
    async nextDueAt (excluded: readonly string[] = [], only?: readonly string[]): Promise<number | undefined> {
      const times = [...await earliestByRegistration()].filter(([registration]) => servedBy(registration, excluded, only)).map(([, at]) => at)
      return times.length === 0 ? undefined : Math.min(...times)
    }
  }
}
