import { z } from 'zod'

/** The envelope of every GatewayAPI webhook; extra fields may appear at any time and are ignored. */
export const webhookEnvelopeSchema = z.looseObject({
  event_id: z.string().min(1),
  timestamp: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date-time'),
  event_type: z.string().min(1),
  event: z.unknown()
})

/** `message.status.sms` / `message.status.rcs`. */
export const statusEventSchema = z.looseObject({
  msg_id: z.string().nullable().optional(),
  recipient: z.number().optional(),
  reference: z.string().nullable().optional(),
  status: z.string().min(1),
  status_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date-time'),
  error: z.looseObject({ hex_code: z.string().nullable().optional(), details: z.string().nullable().optional() }).nullable().optional()
})

/** `user-message.text.sms`: a customer's reply. */
export const inboundEventSchema = z.looseObject({
  msg_id: z.string().nullable().optional(),
  sender: z.union([z.number(), z.string()]),
  sent_at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date-time'),
  content: z.looseObject({ message: z.string() })
})

export const STATUS_EVENT_TYPES = new Set(['message.status.sms', 'message.status.rcs'])
export const INBOUND_EVENT_TYPES = new Set(['user-message.text.sms'])
