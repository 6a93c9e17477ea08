import type Database from 'better-sqlite3'

/**
 * The one way the SQLite store leases rows, for the relay and both outboxes alike. A leased
 * row is `sending`, its attempt counted, and due again at its lease's end: if its owner dies,
 * the row is simply due again, and the next claim takes it (`claimOrder`).
 */
const LEASE_ASSIGNMENTS = "state = 'sending', attempts = attempts + 1, next_attempt_at = @leaseUntil, lease_until = @leaseUntil"

/** A claim's order: leases that ran out first (their rows have waited longest), then rows waiting in `waiting`. */
export function claimOrder (waiting: string): readonly [string, string] {
  return ['sending', waiting]
}

/**
 * Leases the rows of `table` that `chosen` selects (a subquery of ids; SQLite has one writer, so
 * choosing and leasing in one statement cannot race another claim), with `also` assigned too.
 * Parameters: `@leaseUntil` and whatever `chosen` and `also` name.
 */
export function leaseStatement<P extends { leaseUntil: number }, R> (db: Database.Database, table: string, chosen: string, returning: string, also = ''): Database.Statement<[P], R> {
  return db.prepare<[P], R>(`UPDATE ${table} SET ${LEASE_ASSIGNMENTS}${also === '' ? '' : `, ${also}`} WHERE id IN (${chosen}) RETURNING ${returning}`)
}
