import { createHash } from 'node:crypto'
import type { Registration } from '../config.js'
import type { ProviderRules } from '../core/provider-rules.js'
import type { NewBatch, NewMessage } from '../core/store/store.js'
import type { CampaignRequest } from './campaign-schema.js'

/**
 * Idempotency key of a campaign request, scoped to its registration by the store: the pair
 * (`requestId`, `batchId`), so that the several batches of one request are each sent once, and
 * a retried batch is not sent again; the body's hash when both are empty (auto replies).
 * `legacyIdempotencyKeys` are the keys earlier versions stored the same batch under
 * (`requestId` alone, else `batchId` alone): a batch accepted before an upgrade and retried
 * after it is still a duplicate.
 */
export function idempotencyKeysOf (request: Pick<CampaignRequest, 'requestId' | 'batchId'>, bodyHash: string):
Pick<NewBatch, 'idempotencyKey' | 'legacyIdempotencyKeys'> {
  const { requestId, batchId } = request
  if (requestId === '' && batchId === '') return { idempotencyKey: `body:${bodyHash}`, legacyIdempotencyKeys: [] }
  return {
    // JSON keeps the pair unambiguous whatever characters the ids hold.
    idempotencyKey: `ids:${JSON.stringify([requestId, batchId])}`,
    legacyIdempotencyKeys: [requestId !== '' ? `request:${requestId}` : `batch:${batchId}`]
  }
}

/** SHA-256 of the raw body, hex: a known key with another body is a conflict. */
export function bodyHashOf (rawBody: Buffer): string {
  return createHash('sha256').update(rawBody).digest('hex')
}

export interface IntakeResult {
  batch: NewBatch
  messages: NewMessage[]
  /** What was tolerated but deserves a look (a risky sender, an unreadable schedule): logged at warn. */
  warnings: string[]
}

/**
 * Turns a validated campaign request into what the store keeps. `metadataJson` is the
 * metadata's exact text from the body (see metadataTextOf), kept for the delivery reports.
 * Every recipient becomes a message: an unusable one (wrong type, number or text) is failed as
 * `InvalidRecipient`, and all of them as `InvalidSender` when the provider would refuse the sender
 * (its `rules`).
 */
export function toBatch (
  registration: Registration,
  request: CampaignRequest,
  metadataJson: string,
  rawBody: Buffer,
  now: number,
  rules: ProviderRules
): IntakeResult {
  const warnings: string[] = []
  const scheduled = request.metadata.scheduledTime
  if (scheduled.kind === 'unreadable') {
    warnings.push(`metadata.scheduledTime ${JSON.stringify(scheduled.given)} is neither epoch milliseconds nor an ISO-8601 date-time: sent now`)
  }
  // An empty senderId means "the registration's"; a blank one is a sender, and fails as one.
  const requested = request.senderId !== undefined && request.senderId !== '' ? request.senderId : registration.senderId
  const sender = rules.checkSender(requested)
  if (sender.verdict === 'risky') warnings.push(sender.reason)
  const bodyHash = bodyHashOf(rawBody)
  const batch: NewBatch = {
    registrationId: registration.id,
    ...idempotencyKeysOf(request, bodyHash),
    bodyHash,
    batchId: request.batchId,
    requestId: request.requestId,
    senderId: sender.verdict === 'invalid' ? requested : sender.sender,
    metadataJson,
    // A time in the past means "now".
    scheduledAt: scheduled.kind === 'at' && scheduled.at > now ? scheduled.at : now,
    receivedAt: now
  }
  // GatewayAPI would refuse every message of a sender it does not allow: fail them here, reported.
  const senderFailure = sender.verdict === 'invalid' ? { outcome: 'invalid-sender' as const, reason: sender.reason } : undefined
  const messages: NewMessage[] = new Array(request.recipients.length)
  for (let i = 0; i < request.recipients.length; i++) {
    const r = request.recipients[i]!
    if (r.kind === 'malformed') {
      messages[i] = { mobileNumber: r.givenNumber, customerId: r.customerId, text: r.message, failure: { outcome: 'invalid-recipient', reason: r.reason } }
      continue
    }
    const check = rules.checkRecipient(r.mobileNumber, r.message, registration.defaultCountry)
    const failure = check.usable ? senderFailure : { outcome: 'invalid-recipient' as const, reason: check.reason }
    messages[i] = {
      mobileNumber: check.msisdn,
      // Reports echo the number as Optimove wrote it; stored apart only when it differs.
      ...(check.msisdn === r.mobileNumber ? {} : { givenNumber: r.mobileNumber }),
      customerId: r.customerId,
      text: r.message,
      ...(failure === undefined ? {} : { failure })
    }
  }
  return { batch, messages, warnings }
}
