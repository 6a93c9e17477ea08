import { randomUUID } from 'node:crypto'

/**
 * Webhook envelopes in the other shapes GatewayAPI sends or documents, beside the SMS status and
 * reply the simulator builds by itself (gatewayapi-wire.ts): any event type and event, RCS replies
 * (whose `content` is a string, or a location), for tests of what the webhook accepts.
 */

export interface EnvelopeOptions {
  /** A Date is written as GatewayAPI does (`+00:00`); a string is sent as given (a zone-less one, say). */
  timestamp?: Date | string
  eventId?: string
}

export interface ReplyOptions extends EnvelopeOptions {
  /** When the customer sent it (default: the envelope's timestamp). */
  sentAt?: Date | string
}

/** An envelope of any type around any event. */
export function gatewayEnvelope (eventType: string, event: unknown, options: EnvelopeOptions = {}): Record<string, unknown> {
  return { event_id: options.eventId ?? randomUUID(), timestamp: isoTime(options.timestamp ?? new Date()), event_type: eventType, event }
}

/** `user-message.text.rcs`: the text is `content` itself. */
export function rcsTextReply (sender: number, text: string, options: ReplyOptions = {}): Record<string, unknown> {
  const at = isoTime(options.sentAt ?? options.timestamp ?? new Date())
  return gatewayEnvelope('user-message.text.rcs', { msg_id: randomUUID(), sender, content: text, sent_at: at }, options)
}

/** `user-message.location.rcs`: a shared position. */
export function rcsLocationReply (sender: number, latitude: number, longitude: number, options: ReplyOptions = {}): Record<string, unknown> {
  const at = isoTime(options.sentAt ?? options.timestamp ?? new Date())
  return gatewayEnvelope('user-message.location.rcs', { msg_id: randomUUID(), sender, content: { latitude, longitude }, sent_at: at }, options)
}

/** GatewayAPI's own form: microseconds and `+00:00`; a string as given. */
function isoTime (at: Date | string): string {
  return typeof at === 'string' ? at : at.toISOString().replace('Z', '000+00:00')
}
