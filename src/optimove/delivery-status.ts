import type { FinalOutcome } from '../core/outcomes.js'

/** Optimove's `type` of a delivery report for each way a message can end (spec section 3, ours). */
export const DELIVERY_STATUS: Record<FinalOutcome, { status: string; subStatus: string }> = {
  delivered: { status: 'Delivered', subStatus: 'Delivered' },
  'accepted-by-network': { status: 'Delivered', subStatus: 'AcceptedByNetwork' },
  expired: { status: 'Undelivered', subStatus: 'Expired' },
  undeliverable: { status: 'Undelivered', subStatus: 'Undeliverable' },
  rejected: { status: 'Failed', subStatus: 'Rejected' },
  deleted: { status: 'Failed', subStatus: 'Deleted' },
  // The network took the message and deliberately did not deliver it (its own rules): not delivered, not our failure.
  skipped: { status: 'Undelivered', subStatus: 'Skipped' },
  'invalid-recipient': { status: 'Failed', subStatus: 'InvalidRecipient' },
  'invalid-sender': { status: 'Failed', subStatus: 'InvalidSender' },
  'provider-rejected': { status: 'Failed', subStatus: 'ProviderRejected' },
  'send-timeout': { status: 'Failed', subStatus: 'SendTimeout' },
  // GatewayAPI took the message but never told its fate, past its expiration and a grace period.
  'no-final-status': { status: 'Undelivered', subStatus: 'NoFinalStatus' },
  // An operator cancelled its batch before it was sent (npm run ops -- cancel).
  cancelled: { status: 'Failed', subStatus: 'Cancelled' },
  // The number replied STOP (or an operator suppressed it) before the message was sent.
  'opted-out': { status: 'Failed', subStatus: 'OptedOut' }
}
