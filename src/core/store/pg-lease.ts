/**
 * The one way the PostgreSQL store leases rows, for the relay and both outboxes alike, as the
 * SQLite store does: a leased row is `sending`, its attempt counted, due again at its lease's
 * end, and owned by the instance that claimed it, so that a row whose owner died is simply due
 * again, or at once when a live instance takes over the dead one's claims (`pg-replicas.ts`).
 * `alias` names the leased table in the UPDATE; `leaseUntil` and `owner` the parameters of the
 * lease's end and of this store's instance.
 */
export function leaseAssignments (alias: string, leaseUntil: string, owner: string): string {
  return `state = 'sending', attempts = ${alias}.attempts + 1, next_attempt_at = ${leaseUntil}, lease_until = ${leaseUntil}, lease_owner = ${owner}`
}

/**
 * The rows of `table` a claim takes, in claim order: leases that ran out first (their rows have
 * waited longest), then rows waiting in `waiting`, each oldest first, `$2` at most, due at `$1`.
 * Each row is locked as it is chosen, and a row another claim holds is skipped (`SKIP LOCKED`):
 * claims running at once in many processes never choose one row twice, and never wait on each
 * other. Columns: `id`, `due_at` (when it became due), `claim_rank` (0 for an expired lease).
 * `also`: a further condition on the rows (the relay's registration), if any.
 */
export function dueRows (table: string, waiting: 'queued' | 'pending', also?: string): string {
  const and = also === undefined ? '' : ` AND ${also}`
  return `
    WITH expired AS MATERIALIZED (
      SELECT id, next_attempt_at FROM ${table} WHERE state = 'sending' AND next_attempt_at <= $1${and}
      ORDER BY next_attempt_at, id LIMIT $2::int FOR UPDATE SKIP LOCKED
    ), waiting AS MATERIALIZED (
      SELECT id, next_attempt_at FROM ${table} WHERE state = '${waiting}' AND next_attempt_at <= $1${and}
      ORDER BY next_attempt_at, id LIMIT GREATEST($2::int - (SELECT count(*) FROM expired), 0) FOR UPDATE SKIP LOCKED
    )
    SELECT id, next_attempt_at AS due_at, 0 AS claim_rank FROM expired
    UNION ALL
    SELECT id, next_attempt_at, 1 FROM waiting`
}
