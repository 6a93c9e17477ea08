import type { FinalOutcome } from '../outcomes.js'
import type { BatchRecord, IncomingRecord, InstanceRecord, MessageRecord, MessageState, OutboxState, RecipientRecord, ReportRecord, WebhookEventRecord } from './store.js'

// The rows of the schema every SQL adapter shares (its column names), and their records in the
// port's words: what the inspection role returns, the same from each adapter.

export interface BatchRow {
  id: number; registration_id: string; idempotency_key: string; batch_id: string; request_id: string; sender_id: string
  metadata: string; scheduled_at: number; received_at: number; accepted_count: number; rejected_count: number; trace_id: string | null
}
export interface MessageRow {
  id: number; batch_id: number; reference: string; mobile_number: string; given_number: string | null; customer_id: string
  body: string; state: MessageState; attempts: number; next_attempt_at: number; lease_until: number | null; lease_owner: string | null
  provider_message_id: string | null; final_outcome: FinalOutcome | null; last_error: string | null; created_at: number; updated_at: number
}
export interface ReportRow {
  id: number; message_id: number; registration_id: string; outcome: FinalOutcome; status_at: number; error_code: string | null
  error_details: string | null; state: OutboxState; attempts: number; next_attempt_at: number; lease_until: number | null
  lease_owner: string | null; last_error: string | null; created_at: number
}
export interface IncomingRow {
  id: number; registration_id: string; from_number: string; to_address: string; body: string; sent_at: number; state: OutboxState
  attempts: number; next_attempt_at: number; lease_until: number | null; lease_owner: string | null; last_error: string | null; created_at: number
}
export interface WebhookEventRow {
  event_id: string; event_type: string; message_id: number | null; status: string | null; status_at: number | null
  error_code: string | null; error_details: string | null; raw: string | null; received_at: number
}
export interface RecipientRow { msisdn: string; registration_id: string; last_sent_at: number }
export interface InstanceRow { id: string; started_at: number; heartbeat_at: number }

/** The bookkeeping every leased row has (messages and both outboxes), in the port's words. */
function leaseFields<S> (row: { state: S; attempts: number; next_attempt_at: number; lease_until: number | null; lease_owner: string | null; last_error: string | null; created_at: number }) {
  return {
    state: row.state, attempts: row.attempts, nextAttemptAt: row.next_attempt_at, leaseUntil: row.lease_until, leaseOwner: row.lease_owner,
    lastError: row.last_error, createdAt: row.created_at
  }
}

/** A batch row as the port's record. */
export function batchRecord (b: BatchRow): BatchRecord {
  return {
    id: String(b.id),
    registrationId: b.registration_id,
    idempotencyKey: b.idempotency_key,
    batchId: b.batch_id,
    requestId: b.request_id,
    senderId: b.sender_id,
    metadataJson: b.metadata,
    scheduledAt: b.scheduled_at,
    receivedAt: b.received_at,
    accepted: b.accepted_count,
    rejected: b.rejected_count,
    traceId: b.trace_id
  }
}

/** A message row as the port's record. */
export function messageRecord (m: MessageRow): MessageRecord {
  return {
    id: String(m.id),
    batchId: String(m.batch_id),
    reference: m.reference,
    mobileNumber: m.mobile_number,
    givenNumber: m.given_number,
    customerId: m.customer_id,
    text: m.body,
    ...leaseFields(m),
    providerMessageId: m.provider_message_id,
    finalOutcome: m.final_outcome,
    updatedAt: m.updated_at
  }
}

/** A delivery-report row as the port's record. */
export function reportRecord (r: ReportRow): ReportRecord {
  return {
    id: String(r.id),
    messageId: String(r.message_id),
    registrationId: r.registration_id,
    outcome: r.outcome,
    statusAt: r.status_at,
    errorCode: r.error_code,
    errorDetails: r.error_details,
    ...leaseFields(r)
  }
}

/** A row of the replies' outbox as the port's record. */
export function incomingRecord (r: IncomingRow): IncomingRecord {
  return {
    id: String(r.id),
    registrationId: r.registration_id,
    from: r.from_number,
    to: r.to_address,
    text: r.body,
    sentAt: r.sent_at,
    ...leaseFields(r)
  }
}

/** A remembered webhook event as the port's record. */
export function webhookEventRecord (e: WebhookEventRow): WebhookEventRecord {
  return {
    eventId: e.event_id,
    eventType: e.event_type,
    messageId: e.message_id === null ? null : String(e.message_id),
    status: e.status,
    statusAt: e.status_at,
    errorCode: e.error_code,
    errorDetails: e.error_details,
    raw: e.raw,
    receivedAt: e.received_at
  }
}

/** A number→registration memory row as the port's record. */
export function recipientRecord (r: RecipientRow): RecipientRecord {
  return { msisdn: r.msisdn, registrationId: r.registration_id, lastSentAt: r.last_sent_at }
}

/** A live instance (replica) as the port's record. */
export function instanceRecord (i: InstanceRow): InstanceRecord {
  return { id: i.id, startedAt: i.started_at, heartbeatAt: i.heartbeat_at }
}
