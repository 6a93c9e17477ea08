import { z } from 'zod'
import { readAddress } from './event-fields.js'

/*
 * GatewayAPI's webhook bodies, read liberally: extra fields may appear anywhere and are
 * ignored, and only what we act on is required. What we merely forward (`recipient`, `error`,
 * a reply's `content`) is taken as `unknown` here and read by the lenient readers of
 * event-fields.ts, so that a new shape of a field we do not need never costs us an event.
 */

/**
 * Status events, by their type's spelling: `message.status.sms` / `.rcs` (the OpenAPI document),
 * `messaging.status.sms` (the overview page's envelope), and any channel still to come.
 */
export const STATUS_EVENT_TYPE = /^messag(?:e|ing)\.status(?:\.|$)/i

/** Customer replies: `user-message.text.sms`, `user-message.text.rcs`, `user-message.location.rcs`, `user-message.file.rcs`, … */
export const REPLY_EVENT_TYPE = /^user-message(?:\.|$)/i

/** A string or a number, trimmed; null when it is neither, empty or absent. */
const optionalText = z.unknown().optional()
  .transform((value): string | null => (typeof value === 'string' || typeof value === 'number' ? String(value).trim() || null : null))

/** The envelope; an id that is a number is taken as text, a type that is not a string as none. */
export const webhookEnvelopeSchema = z.looseObject({
  event_id: optionalText.meta({ description: 'Unique per event: a replay with the same id changes nothing' }),
  timestamp: z.unknown().optional().meta({ description: 'When GatewayAPI sent it (ISO-8601): an event older than WEBHOOK_MAX_AGE_SECONDS, or from the future, is refused' }),
  event_type: optionalText.meta({ description: 'message.status.sms (or messaging.status.sms, .rcs, …) for a status; user-message.text.sms (or another user-message.*) for a reply; anything else is kept whole as unusable' }),
  event: z.unknown().optional()
})

/** A status event: a `status` and a way to find the message (our `reference`, else GatewayAPI's `msg_id`). */
export const statusEventSchema = z.looseObject({
  status: z.string().trim().min(1, 'must be a non-empty string').meta({ description: 'DELIVERED, EXPIRED, REJECTED, ENROUTE, … (any case)' }),
  reference: optionalText.meta({ description: 'Our reference for the message, as we sent it' }),
  msg_id: optionalText.meta({ description: 'GatewayAPI\'s id of the message: used when the reference is missing' }),
  status_at: z.unknown().optional(),
  error: z.unknown().optional().meta({ description: 'The reason of a failure: forwarded to Optimove' })
}).refine((e) => e.reference !== null || e.msg_id !== null, { message: 'neither reference nor msg_id is usable', path: ['reference'] })

/**
 * A reply: who sent it (required: it is whom Optimove will answer), what and when, and, when
 * the event says, the number the customer texted. That field is not documented for the Mobile
 * Message API; `recipient` is its name for the receiving party on status events, `receiver`
 * the legacy MO webhook's, `to` the common one.
 */
export const replyEventSchema = z.looseObject({
  sender: z.unknown().transform((value, ctx) => {
    const address = readAddress(value)
    if (address === undefined || !/^\d+$/.test(address)) {
      ctx.addIssue({ code: 'custom', message: 'must be a phone number' })
      return z.NEVER
    }
    return address
  }).meta({ description: 'The customer\'s number (digits, or a + and digits)' }),
  sent_at: z.unknown().optional(),
  content: z.unknown().optional(),
  recipient: z.unknown().optional(),
  receiver: z.unknown().optional(),
  to: z.unknown().optional()
})

/** The envelope as the API's documents show it: its `event` a status or a reply. */
export const webhookEnvelopeDocument = webhookEnvelopeSchema.extend({ event: z.union([statusEventSchema, replyEventSchema]).optional() })
  .meta({ description: 'A GatewayAPI webhook event, signed in its Signature header. Unknown fields are tolerated everywhere.' })

/** Our answer to an event taken: recorded, a replay of one recorded before, for a message we do not know, or kept whole as unusable. */
export const eventAnswerSchema = z.object({ status: z.enum(['recorded', 'duplicate', 'unknown-message', 'unusable']) })

export type StatusEventFields = z.infer<typeof statusEventSchema>
export type ReplyEventFields = z.infer<typeof replyEventSchema>
