import type { FinalOutcome } from '../core/outcomes.js'

/**
 * GatewayAPI's delivery statuses and what each means for a message. Final statuses end it
 * with an outcome; the others (ENROUTE, UNKNOWN, RCS READ, the older BUFFERED/SCHEDULED/
 * SKIPPED, and any value not known yet) only join its history.
 */
const FINAL: Record<string, FinalOutcome> = {
  DELIVERED: 'delivered',
  ACCEPTED: 'accepted-by-network',
  EXPIRED: 'expired',
  UNDELIVERABLE: 'undeliverable',
  REJECTED: 'rejected',
  DELETED: 'deleted'
}

export function outcomeOfStatus (status: string): FinalOutcome | undefined {
  return FINAL[status.toUpperCase()]
}
