import type pg from 'pg'
import { NO_FINAL_STATUS_REASON } from './no-final-status.js'
import { queueReportsFrom } from './pg-report-queue.js'
import { keyedState } from './pg-keyed-plans.js'

/**
 * One chunk of the final-status sweep: `submitted` messages of the registrations `which` selects,
 * oldest first, become `final` with the outcome `no-final-status`, and their reports are queued
 * by the same statement. A message another transaction holds (its real status arriving) is left
 * to it. Parameters: `$1` the cutoff, `$2` now, `$3` the reason, `$4` the registration(s), `$5` the chunk size.
 */
const chunkSql = (which: string): string => `
  WITH overdue AS MATERIALIZED (
    SELECT m.id, m.updated_at, b.registration_id FROM messages m JOIN batches b ON b.id = m.batch_id
    WHERE m.state = 'submitted' AND m.updated_at < $1 AND ${which}
    ORDER BY m.updated_at, m.id LIMIT $5 FOR UPDATE OF m SKIP LOCKED
  ), ended AS (
    UPDATE messages m SET state = 'final', final_outcome = 'no-final-status', lease_until = NULL, last_error = $3, updated_at = $2
    FROM overdue o WHERE m.id = o.id AND ${keyedState('m', 'submitted')}
    RETURNING m.id AS message_id, o.registration_id, 'no-final-status'::text AS outcome, $2::bigint AS status_at, NULL::text AS error_code,
              $3::text AS error_details, $2::bigint AS at, o.updated_at AS ord
  )
  ${queueReportsFrom('ended')}`

/**
 * Ends messages that GatewayAPI took but never gave a final status, in chunks, as the SQLite
 * store does: each chunk returns how many messages it ended.
 */
export function createPgSweep (pool: pg.Pool, chunk = 1000) {
  const ofRegistration = chunkSql('b.registration_id = $4')
  const ofOthers = chunkSql('b.registration_id <> ALL($4::text[])')
  const ended = async (sql: string, before: number, now: number, which: string | readonly string[]): Promise<number> =>
    (await pool.query(sql, [before, now, NO_FINAL_STATUS_REASON, which, chunk])).rowCount ?? 0
  return {
    /** One chunk for one registration; the number of messages ended. */
    registrationChunk: (registration: string, before: number, now: number) => ended(ofRegistration, before, now, registration),
    /** One chunk for registrations no longer configured (their messages use `before`), skipping the `known` ones. */
    othersChunk: (known: readonly string[], before: number, now: number) => ended(ofOthers, before, now, known)
  }
}
