import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { signGatewaySignature } from '../lib/hmac-signature.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { secretsEqual } from '../lib/constant-time.js'
import { listenOnLoopback, readBody, sendJson } from './http-server.js'

export interface SimGatewayApiOptions {
  token: string
  /** Where and how GatewayAPI posts its webhooks (status events and replies). */
  webhook?: { url: string; secret: string }
  port?: number
  /** Keep only references and ids of accepted messages, not their texts (for long benchmarks). */
  lean?: boolean
}

/** One message GatewayAPI accepted, as it arrived, with the id it was given. */
export interface AcceptedMessage {
  msg_id: string
  sender: string
  recipient: number
  message: string
  reference: string | null
}

/** A scripted answer: a status (with headers and body), or a connection dropped mid-request. */
export type Fault =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { drop: true }
  | { delayMs: number }

type Detail = { loc: Array<string | number>; msg: string; type: string }

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/**
 * A simulated GatewayAPI Mobile Message API on 127.0.0.1: `/mobile/single` and `/mobile/multi`
 * as its OpenAPI document says (Token auth, body validation with FastAPI-shaped 422s,
 * 202 with ULID-like `msg_id`s). It records what it accepted and can be scripted with faults.
 */
export class SimGatewayApi extends EventEmitter {
  readonly accepted: AcceptedMessage[] = []
  /** Requests answered, by status ('drop' for dropped connections). */
  readonly requestCounts = new Map<string, number>()
  /** Every request in arrival order: when it arrived, what it was answered, how many messages it carried. */
  readonly requestLog: Array<{ at: number; status: string; messages: number }> = []
  /** Extra latency before every answer, in milliseconds. */
  latencyMs = 0
  /** Recipients that fail validation with a 422, as a real invalid number would. */
  readonly rejectRecipients = new Set<number>()
  private readonly faults: Fault[] = []
  private outageUntil = 0
  private outage: Fault | undefined
  private idCounter = 0
  private readonly idPrefix = Date.now().toString(32).toUpperCase().padStart(10, '0').slice(-10)
  private server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined

  constructor (readonly options: SimGatewayApiOptions) {
    super()
  }

  get url (): string {
    if (this.server === undefined) throw new Error('simulated GatewayAPI is not started')
    return this.server.url
  }

  async start (): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res), this.options.port)
    return this
  }

  async close (): Promise<void> {
    await this.server?.close()
  }

  /** The next requests get these answers, in order. */
  script (...faults: Fault[]): void {
    this.faults.push(...faults)
  }

  /** Every request for the next `ms` milliseconds gets this answer (an outage). */
  failFor (ms: number, fault: Fault): void {
    this.outageUntil = Date.now() + ms
    this.outage = fault
  }

  /** How many times each reference was accepted. */
  referenceCounts (): Map<string, number> {
    const counts = new Map<string, number>()
    for (const m of this.accepted) counts.set(String(m.reference), (counts.get(String(m.reference)) ?? 0) + 1)
    return counts
  }

  /** Resolves once at least `n` messages have been accepted. */
  async waitForAccepted (n: number): Promise<void> {
    while (this.accepted.length < n) await new Promise((resolve) => this.once('accepted', resolve))
  }

  /** A status-event envelope for an accepted message, as GatewayAPI builds it. */
  statusEvent (message: Pick<AcceptedMessage, 'msg_id' | 'recipient' | 'reference'>, status: string, options: { error?: { hex_code: string; details: string }; timestamp?: Date; eventId?: string } = {}): Record<string, unknown> {
    const at = options.timestamp ?? new Date()
    return {
      event_id: options.eventId ?? randomUUID(),
      timestamp: at.toISOString(),
      event_type: 'message.status.sms',
      event: { msg_id: message.msg_id, recipient: message.recipient, reference: message.reference, status, status_at: at.toISOString(), error: options.error ?? null }
    }
  }

  /** An inbound-SMS envelope: a customer's reply. */
  replyEvent (sender: number, text: string, options: { timestamp?: Date } = {}): Record<string, unknown> {
    const at = options.timestamp ?? new Date()
    return {
      event_id: randomUUID(),
      timestamp: at.toISOString(),
      event_type: 'user-message.text.sms',
      event: { msg_id: this.nextId(), sender, sent_at: at.toISOString(), content: { message: text, encoding: 'UTF8', header: null } }
    }
  }

  /**
   * Posts one webhook as GatewayAPI does: JSON, `Signature: v1=<hmac of the exact body>`.
   * `signature` overrides the header (null leaves it out) to play a forger.
   */
  async postWebhook (envelope: unknown, options: { signature?: string | null; raw?: string } = {}): Promise<{ status: number; body: any }> {
    const webhook = this.options.webhook
    if (webhook === undefined) throw new Error('no webhook configured on the simulated GatewayAPI')
    const raw = options.raw ?? JSON.stringify(envelope)
    const signature = options.signature === undefined ? signGatewaySignature(raw, webhook.secret) : options.signature
    const res = await request(webhook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature === null ? {} : { signature }) },
      body: raw
    })
    const text = await res.body.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { status: res.statusCode, body }
  }

  private count (key: string, at = Date.now(), messages = 0): void {
    this.requestCounts.set(key, (this.requestCounts.get(key) ?? 0) + 1)
    this.requestLog.push({ at, status: key, messages })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req)
    const path = (req.url ?? '').split('?')[0]
    if (req.method !== 'POST' || (path !== '/mobile/single' && path !== '/mobile/multi')) {
      this.count('404')
      return sendJson(res, 404, { detail: 'Not Found' })
    }
    const arrivedAt = Date.now()
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs))

    let fault = this.faults.shift() ?? (arrivedAt < this.outageUntil ? this.outage : undefined)
    if (fault !== undefined && 'delayMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, (fault as { delayMs: number }).delayMs))
      fault = undefined
    }
    if (fault !== undefined) {
      if ('drop' in fault) {
        this.count('drop', arrivedAt)
        res.socket?.destroy()
        return
      }
      this.count(String(fault.status), arrivedAt)
      return sendJson(res, fault.status, fault.body ?? { detail: 'simulated fault' }, fault.headers)
    }

    const auth = req.headers.authorization
    if (typeof auth !== 'string' || !auth.startsWith('Token ')) {
      this.count('401', arrivedAt)
      return sendJson(res, 401, { detail: 'Missing or malformed Authorization header' })
    }
    if (!secretsEqual(auth.slice(6), this.options.token)) {
      this.count('403', arrivedAt)
      return sendJson(res, 403, { detail: 'Invalid token' })
    }

    let body: any
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      this.count('422', arrivedAt)
      return sendJson(res, 422, { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] })
    }
    const single = path === '/mobile/single'
    const items: unknown[] = single ? [body] : body?.messages
    const details: Detail[] = []
    if (!single && (!Array.isArray(items) || items.length < 1 || items.length > 1000)) {
      details.push({ loc: ['body', 'messages'], msg: 'List should have at least 1 item and at most 1000 items', type: 'list_length' })
    } else {
      items.forEach((item, i) => details.push(...this.validate(item, single ? ['body'] : ['body', 'messages', i])))
    }
    if (details.length > 0) {
      this.count('422', arrivedAt)
      return sendJson(res, 422, { detail: details })
    }

    const responses = (items as AcceptedMessage[]).map((m) => {
      const accepted: AcceptedMessage = { msg_id: this.nextId(), sender: m.sender, recipient: m.recipient, message: this.options.lean === true ? '' : m.message, reference: m.reference ?? null }
      this.accepted.push(accepted)
      return { msg_id: accepted.msg_id, recipient: accepted.recipient, reference: accepted.reference }
    })
    this.count('202', arrivedAt, responses.length)
    sendJson(res, 202, single ? responses[0] : { responses })
    this.emit('accepted', responses.length)
  }

  private validate (item: unknown, loc: Array<string | number>): Detail[] {
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
    } else if (this.rejectRecipients.has(m.recipient)) {
      out.push({ loc: [...loc, 'recipient'], msg: 'Value error, invalid MSISDN', type: 'value_error' })
    }
    if (typeof m.message !== 'string' || m.message.length > 39015) {
      out.push({ loc: [...loc, 'message'], msg: 'String should have at most 39015 characters', type: 'string_type' })
    }
    if (m.reference !== undefined && m.reference !== null && typeof m.reference !== 'string') {
      out.push({ loc: [...loc, 'reference'], msg: 'Input should be a valid string', type: 'string_type' })
    }
    return out
  }

  /** 26 Crockford base32 characters, like GatewayAPI's ULID-like ids: a time prefix and a counter. */
  private nextId (): string {
    let n = ++this.idCounter
    let tail = ''
    for (let i = 0; i < 16; i++) {
      tail = CROCKFORD[n % 32] + tail
      n = Math.floor(n / 32)
    }
    return this.idPrefix.replace(/[ILOU]/g, '0') + tail
  }
}
