import type { FinalOutcome } from '../core/outcomes.js'

/**
 * GatewayAPI's delivery statuses and what each means for a message. Final statuses end it
 * with an outcome; the others (ENROUTE, UNKNOWN, RCS READ, the older BUFFERED/SCHEDULED,
 * and any value not known yet) only join its history.
 *
 * Final, as GatewayAPI's status diagram draws them (boxes; "once a final state is reached we
 * will no longer call your webhook"): DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, REJECTED,
 * ACCEPTED ("the mobile network has accepted the message on the end user's behalf") and
 * SKIPPED ("accepted, but deliberately ignored due to network-specific rules").
 */
const FINAL: Record<string, FinalOutcome> = {
  DELIVERED: 'delivered',
  ACCEPTED: 'accepted-by-network',
  EXPIRED: 'expired',
  UNDELIVERABLE: 'undeliverable',
  REJECTED: 'rejected',
  DELETED: 'deleted',
  SKIPPED: 'skipped'
}

/** The outcome a status ends its message with, or undefined when it is not final (or not known). */
export function outcomeOfStatus (status: string): FinalOutcome | undefined {
  const key = status.trim().toUpperCase()
  return Object.hasOwn(FINAL, key) ? FINAL[key] : undefined
}
