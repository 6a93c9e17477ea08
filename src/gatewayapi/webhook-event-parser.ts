import { createHash } from 'node:crypto'
import type { StatusEventFields } from '../core/store/store.js'
import { parseUtcTimestamp } from '../lib/utc-timestamp.js'
import { readAddress, readError, replyText } from './event-fields.js'
import { outcomeOfStatus } from './status-vocabulary.js'
import { REPLY_EVENT_TYPE, STATUS_EVENT_TYPE, replyEventSchema, statusEventSchema, webhookEnvelopeSchema } from './webhook-schema.js'

/** What one (signature-checked) webhook body says, before anything is looked up or stored. */
export interface ParsedWebhook {
  eventId: string
  /** As sent; `unknown` when the body names none. */
  eventType: string
  /** When GatewayAPI created the event; undefined when the envelope has no usable timestamp. */
  createdAt: number | undefined
  event: WebhookEventContent
}

/** The event itself, in our words: a status, a reply, or something we cannot use (and why). */
export type WebhookEventContent =
  | StatusEventFields
  | {
    kind: 'reply'
    /** The customer's number (digits). */
    from: string
    /** The number (or name) the customer texted, when the event says. */
    to?: string
    text: string
    sentAt: number
  }
  | { kind: 'unusable'; reason: string }

/**
 * Reads a webhook body. Only a body that is not JSON is an error (the caller answers 400):
 * everything else becomes an envelope, whose event is unusable when it cannot be acted on
 * (an unknown type, a known type without what we need, no timestamp to judge its age by), so
 * that it is kept and counted instead of refused, and GatewayAPI does not retry it for a day.
 * Status events are recognised by type prefix and shape, replies by type prefix; times without
 * a zone are UTC; a missing `status_at` / `sent_at` is the envelope's `timestamp`.
 */
export function parseWebhookBody (raw: Buffer, json: unknown): ParsedWebhook {
  const envelope = webhookEnvelopeSchema.safeParse(json)
  // An event without an id is still remembered, by its body: GatewayAPI's retries repeat it byte for byte.
  const bodyId = () => `body-sha256:${createHash('sha256').update(raw).digest('hex')}`
  if (!envelope.success) {
    return { eventId: bodyId(), eventType: 'unknown', createdAt: undefined, event: unusable('the body is not a JSON object') }
  }
  const { event_id: eventId, event_type: eventType, timestamp, event } = envelope.data
  const createdAt = parseUtcTimestamp(timestamp)
  return {
    eventId: eventId ?? bodyId(),
    eventType: eventType ?? 'unknown',
    createdAt,
    event: createdAt === undefined
      ? unusable('the envelope has no timestamp that is an ISO-8601 date-time, so its age cannot be judged')
      : readEvent(eventType, event, createdAt)
  }
}

function readEvent (eventType: string | null, event: unknown, createdAt: number): WebhookEventContent {
  if (eventType === null) return unusable('the envelope has no event_type')
  if (STATUS_EVENT_TYPE.test(eventType)) {
    const parsed = statusEventSchema.safeParse(event)
    if (!parsed.success) return unusable(`status event without what we need: ${describeIssues(parsed.error.issues)}`)
    const e = parsed.data
    const outcome = outcomeOfStatus(e.status)
    const error = readError(e.error)
    return {
      kind: 'status',
      reference: e.reference,
      providerMessageId: e.msg_id,
      status: e.status,
      statusAt: parseUtcTimestamp(e.status_at) ?? createdAt,
      ...(outcome === undefined ? {} : { outcome }),
      ...(error === undefined ? {} : { error })
    }
  }
  if (REPLY_EVENT_TYPE.test(eventType)) {
    const parsed = replyEventSchema.safeParse(event)
    if (!parsed.success) return unusable(`reply without what we need: ${describeIssues(parsed.error.issues)}`)
    const e = parsed.data
    const to = readAddress(e.recipient) ?? readAddress(e.receiver) ?? readAddress(e.to)
    return {
      kind: 'reply',
      from: e.sender,
      // The customer's own number is never the number they texted (a field named for the other party).
      ...(to === undefined || to === e.sender ? {} : { to }),
      text: replyText(e.content),
      sentAt: parseUtcTimestamp(e.sent_at) ?? createdAt
    }
  }
  return unusable('an event type we do not handle')
}

function unusable (reason: string): WebhookEventContent {
  return { kind: 'unusable', reason }
}

function describeIssues (issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues.slice(0, 5).map((i) => `${['event', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ')
}
