import type { PendingIncoming, PendingReport } from '../core/store/store.js'
import { DELIVERY_STATUS } from './delivery-status.js'

/**
 * The delivery-report body (spec section 3). `metadata` is spliced in as the exact JSON text
 * stored at intake, so that it goes back unchanged, unknown fields included.
 */
export function deliveryReportBody (report: PendingReport): string {
  const head = JSON.stringify({ type: DELIVERY_STATUS[report.outcome] })
  const tail = JSON.stringify({
    batchId: report.batchId,
    requestId: report.requestId,
    customerId: report.customerId,
    mobileNumber: report.mobileNumber,
    senderId: report.senderId,
    messageId: report.reference,
    providerMessageId: report.providerMessageId,
    statusAt: new Date(report.statusAt).toISOString(),
    ...(report.error === null ? {} : { error: { code: report.error.code, details: report.error.details } })
  })
  return `${head.slice(0, -1)},"metadata":${report.metadataJson},${tail.slice(1)}`
}

/** Optimove wants `sentAt` as ISO-8601 without a zone; we send UTC. */
export function optimoveLocalTime (epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19)
}

/** The incoming-message body (spec section 4): several replies may share one request. */
export function incomingMessagesBody (replies: PendingIncoming[]): string {
  return JSON.stringify({ messages: replies.map((r) => ({ to: r.to, from: r.from, message: r.text, sentAt: optimoveLocalTime(r.sentAt) })) })
}
