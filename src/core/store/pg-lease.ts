/**
 * The one way the PostgreSQL store leases outbox rows (reports and replies; the relay's claims
 * are rows of their own, see request-claims.ts), as the SQLite store does: a leased row is
 * `sending`, its attempt counted, due again at its lease's end, and owned by the instance that
 * claimed it, so that a row whose owner died is simply due again, or at once when a live instance
 * takes over the dead one's claims (`pg-replicas.ts`).
 * `alias` names the leased table in the UPDATE; `leaseUntil` and `owner` the parameters of the
 * lease's end and of this store's instance.
 */
export function leaseAssignments (alias: string, leaseUntil: string, owner: string): string {
  return `state = 'sending', attempts = ${alias}.attempts + 1, next_attempt_at = ${leaseUntil}, lease_until = ${leaseUntil}, lease_owner = ${owner}`
}
