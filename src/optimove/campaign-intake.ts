import { createHash } from 'node:crypto'
import type { Registration } from '../config.js'
import { checkRecipient, isValidSenderId } from '../core/recipient-check.js'
import type { NewBatch, NewMessage } from '../core/store/store.js'
import type { CampaignRequest } from './campaign-schema.js'

/**
 * Idempotency key of a campaign request, scoped to its registration by the store:
 * `requestId` when non-empty, else `batchId` when non-empty, else a hash of the raw body.
 */
export function idempotencyKeyOf (request: CampaignRequest, rawBody: Buffer): string {
  if (request.requestId !== undefined && request.requestId !== '') return `request:${request.requestId}`
  if (request.batchId !== '') return `batch:${request.batchId}`
  return `body:${createHash('sha256').update(rawBody).digest('hex')}`
}

/**
 * Turns a validated campaign request into what the store keeps. `metadataJson` is the
 * metadata's exact text from the body (see metadataTextOf), kept for the delivery reports.
 */
export function toBatch (
  registration: Registration,
  request: CampaignRequest,
  metadataJson: string,
  rawBody: Buffer,
  now: number
): { batch: NewBatch; messages: NewMessage[] } {
  const scheduledTime = request.metadata.scheduledTime
  const batch: NewBatch = {
    registrationId: registration.id,
    idempotencyKey: idempotencyKeyOf(request, rawBody),
    batchId: request.batchId,
    requestId: request.requestId ?? '',
    senderId: request.senderId !== undefined && request.senderId !== '' ? request.senderId : registration.senderId,
    metadataJson,
    // A time in the past means "now".
    scheduledAt: typeof scheduledTime === 'number' && scheduledTime > now ? scheduledTime : now,
    receivedAt: now
  }
  // GatewayAPI would refuse every message of a sender it does not allow: fail them here, reported.
  const senderFailure = isValidSenderId(batch.senderId)
    ? undefined
    : { outcome: 'invalid-sender' as const, reason: `sender id "${batch.senderId}" is not 3-11 letters/digits or 3-15 digits` }
  const messages: NewMessage[] = new Array(request.recipients.length)
  for (let i = 0; i < request.recipients.length; i++) {
    const r = request.recipients[i]!
    const check = checkRecipient(String(r.mobileNumber), r.message)
    const failure = check.usable ? senderFailure : { outcome: 'invalid-recipient' as const, reason: check.reason }
    messages[i] = {
      mobileNumber: check.msisdn,
      customerId: r.customerId ?? '',
      text: r.message,
      ...(failure === undefined ? {} : { failure })
    }
  }
  return { batch, messages }
}
