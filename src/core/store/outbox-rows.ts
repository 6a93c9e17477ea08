import type { FinalOutcome } from '../outcomes.js'
import type { PendingIncoming, PendingReport } from './store.js'

/** A claimed delivery report's columns, as both adapters select them (its batch's metadata apart). */
export interface ReportRow {
  registration_id: string
  outcome: string
  status_at: number
  error_code: string | null
  error_details: string | null
  reference: string
  provider_message_id: string | null
  mobile_number: string
  customer_id: string
  batch_id: number
  optimove_batch_id: string
  request_id: string
  sender_id: string
}

/** A claimed customer reply's columns, as both adapters select them. */
export interface IncomingRow {
  registration_id: string
  from_number: string
  to_address: string
  body: string
  sent_at: number
}

/** A claimed report in the port's words; `metadataJson` is its batch's one string, shared by the claim's reports of that batch. */
export function pendingReportOf (id: number, attempts: number, r: ReportRow, metadataJson: string): PendingReport {
  return {
    id: String(id),
    registrationId: r.registration_id,
    attempts,
    outcome: r.outcome as FinalOutcome,
    statusAt: r.status_at,
    error: r.error_code === null && r.error_details === null ? null : { code: r.error_code, details: r.error_details },
    reference: r.reference,
    providerMessageId: r.provider_message_id,
    mobileNumber: r.mobile_number,
    customerId: r.customer_id,
    batchId: r.optimove_batch_id,
    requestId: r.request_id,
    senderId: r.sender_id,
    metadataJson
  }
}

/** A claimed reply in the port's words. */
export function pendingIncomingOf (id: number, attempts: number, r: IncomingRow): PendingIncoming {
  return { id: String(id), registrationId: r.registration_id, attempts, from: r.from_number, to: r.to_address, text: r.body, sentAt: r.sent_at }
}
