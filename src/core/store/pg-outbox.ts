import type pg from 'pg'
import type { OutboxName, OutboxSettlement, PendingIncoming, PendingReport } from './store.js'
import { pendingIncomingOf, pendingReportOf, type IncomingRow, type ReportRow } from './outbox-rows.js'
import { OUTBOX_ROW_OVERHEAD_BYTES } from './outbox-weight.js'
import { dbId, inTransaction } from './pg-pool.js'
import { leaseAssignments } from './pg-lease.js'

const TABLES: Record<OutboxName, string> = { reports: 'reports', incoming: 'incoming_messages' }

/** A claim's order: leases that ran out first (their rows have waited longest), then pending rows. */
const CLAIM_ORDER = ['sending', 'pending'] as const

/** A row a claim may take: `part` is what rows may share (a report's batch), `bytes` what it weighs once. */
interface Candidate { id: number; part: number | string; bytes: number }

/**
 * A state's due rows, oldest first, locked as they are read and skipping rows another claim
 * holds; a batch's metadata is measured once however many of its reports are candidates.
 */
const candidatesSql = (outbox: OutboxName, state: typeof CLAIM_ORDER[number]): string => outbox === 'reports'
  ? `
    WITH due AS MATERIALIZED (
      SELECT r.id, r.message_id, r.next_attempt_at FROM reports r
      WHERE r.state = '${state}' AND r.next_attempt_at <= $1 AND r.registration_id <> ALL($3::text[])
      ORDER BY r.next_attempt_at, r.id LIMIT $2 FOR UPDATE SKIP LOCKED
    ), parts AS MATERIALIZED (
      SELECT d.id, d.next_attempt_at, m.batch_id FROM due d JOIN messages m ON m.id = d.message_id
    ), weights AS MATERIALIZED (
      SELECT b.id, char_length(b.metadata) AS bytes FROM batches b WHERE b.id IN (SELECT batch_id FROM parts)
    )
    SELECT p.id, p.batch_id AS part, w.bytes FROM parts p JOIN weights w ON w.id = p.batch_id
    ORDER BY p.next_attempt_at, p.id`
  : `
    SELECT id, 'row-' || id AS part, char_length(body) AS bytes FROM incoming_messages
    WHERE state = '${state}' AND next_attempt_at <= $1 AND registration_id <> ALL($3::text[])
    ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`

// The chosen reports leased, with everything their bodies need but the metadata (read once per batch).
const LEASE_REPORTS = `
  UPDATE reports r SET ${leaseAssignments('r', '$2', '$3')}
  FROM messages m JOIN batches b ON b.id = m.batch_id
  WHERE r.id = ANY($1::bigint[]) AND m.id = r.message_id
  RETURNING r.id, r.attempts, r.registration_id, r.outcome, r.status_at, r.error_code, r.error_details,
            m.reference, m.provider_message_id, COALESCE(m.given_number, m.mobile_number) AS mobile_number, m.customer_id, m.batch_id,
            b.batch_id AS optimove_batch_id, b.request_id, b.sender_id`
const METADATA = 'SELECT id, metadata FROM batches WHERE id = ANY($1::bigint[])'
const LEASE_INCOMING = `
  UPDATE incoming_messages i SET ${leaseAssignments('i', '$2', '$3')}
  WHERE i.id = ANY($1::bigint[])
  RETURNING i.id, i.attempts, i.registration_id, i.from_number, i.to_address, i.body, i.sent_at`

/**
 * Every settlement of one outbox in one statement: each row ends `done`, goes back to `pending`
 * at its time, or is `parked` (due at `$5`, when it was parked), only while it is still leased. Of the entries that name one row,
 * the first (done, then retried, then parked, each in its order) wins, as when they are applied one by one.
 */
const settleSql = (table: string): string => `
  UPDATE ${table} t
  SET state = w.state,
      next_attempt_at = CASE WHEN w.state = 'pending' THEN w.at WHEN w.state = 'parked' THEN $5 ELSE t.next_attempt_at END,
      lease_until = NULL,
      last_error = CASE WHEN w.state = 'done' THEN t.last_error ELSE $4 END
  FROM (
    SELECT DISTINCT ON (u.id) u.id, u.state, u.at
    FROM unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u (id, state, at, ord)
    ORDER BY u.id, u.ord
  ) w
  WHERE t.id = w.id AND t.state = 'sending'`

/** A leased row: its id and attempt count, with the columns its message needs. */
type Leased<R> = R & { id: number; attempts: number }

/**
 * Lease, finish, retry and park rows of the two outboxes of the PostgreSQL store. A claim reads
 * its candidates locked (`FOR UPDATE SKIP LOCKED`, so that claims in many processes never take
 * one row twice), chooses within its rows and bytes as the SQLite store does (a batch's metadata
 * counts once, and one copy of it is shared by the claim's reports of that batch), then leases
 * what it chose (for `owner`, this store's instance), all in one transaction.
 */
export function createPgOutbox (pool: pg.Pool, owner: string) {
  /** The ids to lease, in claim order: up to `limit` rows and `maxBytes` (always at least one row). */
  const choose = async (client: pg.PoolClient, outbox: OutboxName, now: number, limit: number, maxBytes: number, excluded: readonly string[]): Promise<number[]> => {
    const chosen: number[] = []
    const seen = new Set<number | string>()
    let bytes = 0
    for (const state of CLAIM_ORDER) {
      if (chosen.length >= limit) break
      const { rows } = await client.query<Candidate>(candidatesSql(outbox, state), [now, limit - chosen.length, excluded])
      for (const c of rows) {
        const weight = OUTBOX_ROW_OVERHEAD_BYTES + (seen.has(c.part) ? 0 : c.bytes)
        if (chosen.length > 0 && bytes + weight > maxBytes) return chosen
        bytes += weight
        seen.add(c.part)
        chosen.push(c.id)
      }
    }
    return chosen
  }

  /** The rows in the order of `ids`. */
  const inOrder = <R extends { id: number }>(ids: number[], rows: R[]): R[] => {
    const byId = new Map(rows.map((row) => [row.id, row]))
    return ids.map((id) => byId.get(id)!)
  }

  return {
    claimReports: (now: number, limit: number, leaseMs: number, maxBytes = Number.POSITIVE_INFINITY, excluded: readonly string[] = []): Promise<PendingReport[]> =>
      inTransaction(pool, async (client) => {
        const ids = await choose(client, 'reports', now, limit, maxBytes, excluded)
        if (ids.length === 0) return []
        const leased = inOrder(ids, (await client.query<Leased<ReportRow>>(LEASE_REPORTS, [ids, now + leaseMs, owner])).rows)
        const batches = [...new Set(leased.map((r) => r.batch_id))]
        // One string per batch, shared by all its reports in this claim.
        const metadata = new Map((await client.query<{ id: number; metadata: string }>(METADATA, [batches])).rows.map((b) => [b.id, b.metadata]))
        return leased.map((r) => pendingReportOf(r.id, r.attempts, r, metadata.get(r.batch_id)!))
      }),
    claimIncoming: (now: number, limit: number, leaseMs: number, maxBytes = Number.POSITIVE_INFINITY, excluded: readonly string[] = []): Promise<PendingIncoming[]> =>
      inTransaction(pool, async (client) => {
        const ids = await choose(client, 'incoming', now, limit, maxBytes, excluded)
        if (ids.length === 0) return []
        const leased = inOrder(ids, (await client.query<Leased<IncomingRow>>(LEASE_INCOMING, [ids, now + leaseMs, owner])).rows)
        return leased.map((r) => pendingIncomingOf(r.id, r.attempts, r))
      }),
    async settle (outbox: OutboxName, s: OutboxSettlement, now: number): Promise<void> {
      const entries = [
        ...(s.done ?? []).map((id) => ({ id, state: 'done', at: null })),
        ...(s.retry ?? []).map(({ id, at }) => ({ id, state: 'pending', at })),
        ...(s.parked ?? []).map((id) => ({ id, state: 'parked', at: null }))
      ].flatMap((e) => {
        const id = dbId(e.id)
        return id === undefined ? [] : [{ ...e, id }]
      })
      if (entries.length === 0) return
      await pool.query(settleSql(TABLES[outbox]), [entries.map((e) => e.id), entries.map((e) => e.state), entries.map((e) => e.at), s.error ?? null, now])
    },
    tables: TABLES
  }
}
