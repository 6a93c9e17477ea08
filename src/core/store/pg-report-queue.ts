/**
 * The one way a delivery report enters the PostgreSQL outbox: an `INSERT … SELECT` over the rows
 * that the same statement's UPDATE or INSERT of messages returned (transactional outbox), due at
 * once, in the order `ord` gives (then the message's id). `ended` names a CTE with the columns
 * `message_id, registration_id, outcome, status_at, error_code, error_details, at, ord`; it
 * carries the registration itself, since a batch stored by the same statement is not visible
 * to it yet.
 */
export function queueReportsFrom (ended: string): string {
  return `
    INSERT INTO reports (message_id, registration_id, outcome, status_at, error_code, error_details, state, next_attempt_at, created_at)
    SELECT e.message_id, e.registration_id, e.outcome, e.status_at, e.error_code, e.error_details, 'pending', e.at, e.at
    FROM ${ended} e
    ORDER BY e.ord, e.message_id`
}
