/**
 * How a message ended, in our own words. The Optimove side maps each outcome to its
 * `type.status` / `type.subStatus` pair; the GatewayAPI side maps its statuses to these.
 */
export type FinalOutcome =
  | 'delivered'
  | 'accepted-by-network'
  | 'expired'
  | 'undeliverable'
  | 'rejected'
  | 'deleted'
  | 'skipped'
  | 'invalid-recipient'
  | 'invalid-sender'
  | 'provider-rejected'
  | 'send-timeout'
  | 'no-final-status'
  | 'cancelled'
  | 'opted-out'
