import { randomUUID } from 'node:crypto'
import { request, type Dispatcher } from 'undici'
import { parseIsoDuration } from '../lib/iso-duration.js'

/** What the simulated GatewayAPI knows of its wire format: request rules, message ids, webhook envelopes and posts. */

/** One message GatewayAPI accepted, as it arrived, with the id it was given. */
export interface AcceptedMessage {
  msg_id: string
  sender: string
  recipient: number
  message: string
  reference: string | null
  /** GatewayAPI's `expiration` as the request gave it, or null when it had none. */
  expiration: string | null
  /** GatewayAPI's `label` as the request gave it, or null when it had none. */
  label: string | null
}

/** Where and how GatewayAPI posts its webhooks (status events and replies). */
export interface WebhookTarget { url: string; secret: string }

/** One item of a FastAPI-shaped 422 body. */
export type Detail = { loc: Array<string | number>; msg: string; type: string }

/**
 * A check of the simulator's traffic against GatewayAPI's published contract, given by whoever
 * runs the simulator (the tests do; the simulator itself knows no schema). Each method answers
 * what does not fit, one line per violation: an empty list means it fits.
 */
export interface ContractCheck {
  /** A parsed `/mobile/single` or `/mobile/multi` request body, as received. */
  request(path: '/mobile/single' | '/mobile/multi', body: unknown): string[]
  /** A webhook envelope the simulator built to post (a status event or a reply). */
  event(envelope: Record<string, unknown>): string[]
}

/**
 * The answer to a request outside the contract: a 422 in FastAPI's shape whose items have the
 * type `contract_violation`, which GatewayAPI never uses, so that no client or test takes it
 * for one of GatewayAPI's own refusals.
 */
export function contractViolationBody (violations: readonly string[]): { detail: Detail[] } {
  return { detail: violations.map((msg) => ({ loc: ['body'], msg, type: 'contract_violation' })) }
}

/**
 * Checks a `/mobile/single` body (`single`) or a `/mobile/multi` body as GatewayAPI's
 * MobileMessageRequest schema does: the messages it carries, and what is wrong with them.
 */
export function validateMobileRequest (body: any, single: boolean, rejectRecipients: ReadonlySet<number>): { items: unknown[]; details: Detail[] } {
  const items: unknown[] = single ? [body] : body?.messages
  const details: Detail[] = []
  if (!single && (!Array.isArray(items) || items.length < 1 || items.length > 1000)) {
    details.push({ loc: ['body', 'messages'], msg: 'List should have at least 1 item and at most 1000 items', type: 'list_length' })
  } else {
    items.forEach((item, i) => details.push(...validateMessage(item, single ? ['body'] : ['body', 'messages', i], rejectRecipients)))
  }
  return { items, details }
}

/** What is wrong with one MobileMessageRequest item at `loc` (nothing: an empty list). */
function validateMessage (item: unknown, loc: Array<string | number>, rejectRecipients: ReadonlySet<number>): Detail[] {
  const out: Detail[] = []
  if (typeof item !== 'object' || item === null) return [{ loc, msg: 'Input should be a valid dictionary', type: 'dict_type' }]
  const m = item as Record<string, unknown>
  if (typeof m.sender !== 'string' || m.sender.length < 3 || m.sender.length > 18) {
    out.push({ loc: [...loc, 'sender'], msg: 'String should have at least 3 and at most 18 characters', type: 'string_type' })
  }
  if (typeof m.recipient !== 'number' || !Number.isInteger(m.recipient)) {
    out.push({ loc: [...loc, 'recipient'], msg: 'Input should be a valid integer', type: 'int_type' })
  } else if (m.recipient <= 1000 || m.recipient > 999999999999999) {
    out.push({ loc: [...loc, 'recipient'], msg: 'Input should be greater than 1000 and at most 999999999999999', type: 'greater_than' })
  } else if (rejectRecipients.has(m.recipient)) {
    out.push({ loc: [...loc, 'recipient'], msg: 'Value error, invalid MSISDN', type: 'value_error' })
  }
  if (typeof m.message !== 'string' || m.message.length > 39015) {
    out.push({ loc: [...loc, 'message'], msg: 'String should have at most 39015 characters', type: 'string_type' })
  }
  if (m.reference !== undefined && m.reference !== null && typeof m.reference !== 'string') {
    out.push({ loc: [...loc, 'reference'], msg: 'Input should be a valid string', type: 'string_type' })
  }
  if (m.expiration !== undefined) {
    if (typeof m.expiration !== 'string') {
      out.push({ loc: [...loc, 'expiration'], msg: 'Input should be a valid string', type: 'string_type' })
    } else if (!isExpiration(m.expiration)) {
      out.push({ loc: [...loc, 'expiration'], msg: 'Value error, expiration should be an ISO-8601 duration, a date-time, a Unix timestamp or an offset in seconds', type: 'value_error' })
    }
  }
  if (m.label !== undefined && m.label !== null) {
    if (typeof m.label !== 'string') out.push({ loc: [...loc, 'label'], msg: 'Input should be a valid string', type: 'string_type' })
    else if (Array.from(m.label).length > 128) out.push({ loc: [...loc, 'label'], msg: 'String should have at most 128 characters', type: 'string_too_long' })
  }
  if (m.priority !== undefined && m.priority !== 'normal' && m.priority !== 'urgent') {
    out.push({ loc: [...loc, 'priority'], msg: "Input should be 'normal' or 'urgent'", type: 'enum' })
  }
  return out
}

// `YYYY-MM-DD[T]HH:MM:SS[.ffffff][Z or [+ or -]HH[:]MM]`, as GatewayAPI's schema describes a point in time.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})?$/

/** The forms GatewayAPI's `expiration` takes: an ISO-8601 duration, a date-time, a Unix timestamp or a seconds offset (digits). */
function isExpiration (value: string): boolean {
  if (parseIsoDuration(value) !== undefined) return true
  if (/^\d{1,12}$/.test(value)) return true
  return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')))
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** GatewayAPI's ULID-like ids: 26 Crockford base32 characters, a time prefix (fixed when made) and a counter. */
export class MsgIdGenerator {
  private counter = 0
  private readonly prefix = Date.now().toString(32).toUpperCase().padStart(10, '0').slice(-10).replace(/[ILOU]/g, '0')

  next (): string {
    let n = ++this.counter
    let tail = ''
    for (let i = 0; i < 16; i++) {
      tail = CROCKFORD[n % 32] + tail
      n = Math.floor(n / 32)
    }
    return this.prefix + tail
  }
}

/** A status-event envelope for an accepted message, as GatewayAPI builds it. */
export function statusEnvelope (message: Pick<AcceptedMessage, 'msg_id' | 'recipient' | 'reference'>, status: string, options: { error?: { hex_code: string; details: string }; timestamp?: Date; eventId?: string } = {}): Record<string, unknown> {
  const at = options.timestamp ?? new Date()
  return {
    event_id: options.eventId ?? randomUUID(),
    timestamp: at.toISOString(),
    event_type: 'message.status.sms',
    event: { msg_id: message.msg_id, recipient: message.recipient, reference: message.reference, status, status_at: at.toISOString(), error: options.error ?? null }
  }
}

/** An inbound-SMS envelope: a customer's reply, under the id `msgId`. */
export function replyEnvelope (msgId: string, sender: number, text: string, options: { timestamp?: Date } = {}): Record<string, unknown> {
  const at = options.timestamp ?? new Date()
  return {
    event_id: randomUUID(),
    timestamp: at.toISOString(),
    event_type: 'user-message.text.sms',
    event: { msg_id: msgId, sender, sent_at: at.toISOString(), content: { message: text, encoding: 'UTF8', header: null } }
  }
}

/**
 * POSTs one webhook body as GatewayAPI does: JSON with a `Signature` header (null leaves it out).
 * Answers the status and the body (parsed when it is JSON, else its text).
 */
export async function sendWebhook (url: string, raw: string, signature: string | null, via: { dispatcher?: Dispatcher; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ status: number; body: any }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { signature }) },
    body: raw,
    ...(via.dispatcher === undefined ? {} : { dispatcher: via.dispatcher }),
    ...(via.signal === undefined ? {} : { signal: via.signal }),
    ...(via.timeoutMs === undefined ? {} : { headersTimeout: via.timeoutMs, bodyTimeout: via.timeoutMs })
  })
  const text = await res.body.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.statusCode, body }
}
