import type Database from 'better-sqlite3'

/**
 * The one way the SQLite store leases outbox rows (reports and replies; the relay's claims are
 * rows of their own, see request-claims.ts). A leased row is `sending`, its attempt counted, due
 * again at its lease's end, and owned by the instance that claimed it: if its owner dies, the row
 * is simply due again (the next claim takes it, `claimOrder`), or at once when a live instance
 * takes over the dead one's claims (`sqlite-replicas.ts`).
 */
const LEASE_ASSIGNMENTS = "state = 'sending', attempts = attempts + 1, next_attempt_at = @leaseUntil, lease_until = @leaseUntil, lease_owner = @leaseOwner"

/** A claim's order: leases that ran out first (their rows have waited longest), then rows waiting in `waiting`. */
export function claimOrder (waiting: string): readonly [string, string] {
  return ['sending', waiting]
}

/** A lease statement, its owner bound: the rows it leased. */
export interface LeaseStatement<P, R> {
  all: (params: P) => R[]
}

/**
 * Leases the rows of `table` that `chosen` selects (a subquery of ids; SQLite has one writer, so
 * choosing and leasing in one statement cannot race another claim) for `owner` (this store's
 * instance), with `also` assigned too. Parameters: `@leaseUntil` and whatever `chosen` and `also` name.
 */
export function leaseStatement<P extends { leaseUntil: number }, R> (db: Database.Database, table: string, chosen: string, returning: string, owner: string, also = ''): LeaseStatement<P, R> {
  const statement = db.prepare<[P & { leaseOwner: string }], R>(`UPDATE ${table} SET ${LEASE_ASSIGNMENTS}${also === '' ? '' : `, ${also}`} WHERE id IN (${chosen}) RETURNING ${returning}`)
  return { all: (params) => statement.all({ ...params, leaseOwner: owner }) }
}
