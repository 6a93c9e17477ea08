import { EventEmitter, setMaxListeners } from 'node:events'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request, type Dispatcher } from 'undici'
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
  /**
   * Behave like GatewayAPI after a 202: post signed status events for every accepted message
   * to `webhook` by itself. Off unless given, so tests that post events by hand are unaffected.
   */
  autoStatus?: AutoStatusOptions
}

/** One status event to post: a status name, or a status with GatewayAPI's error object. */
export type AutoStatusStep = string | { status: string; error?: { hex_code: string; details: string } }

export interface AutoStatusOptions {
  /**
   * The status events of one accepted message, posted in this order (e.g. `['ENROUTE', 'DELIVERED']`);
   * null or an empty list posts nothing for it. Called once per message, when it is accepted.
   */
  pick(message: AcceptedMessage): AutoStatusStep | AutoStatusStep[] | null
  /** How long after acceptance a message's events start (default 0). */
  delayMs?: number
  /** Webhook requests in flight at most (default 8); one message's events go one after another. */
  concurrency?: number
  /** Tries per event before it is given up, as GatewayAPI retries a failed webhook (default 5). */
  maxAttempts?: number
  /** Wait before the first retry, doubling after each (default 100). */
  retryDelayMs?: number
  /** How long one webhook request may take before it counts as failed (default 5000, GatewayAPI's). */
  timeoutMs?: number
}

/** What the automatic status events did so far. */
export interface AutoStatusStats {
  /** Events waiting to be posted (their message's turn has not come yet, or under way). */
  pending: number
  /** Events answered 2xx. */
  posted: number
  /** Attempts that got a non-2xx answer or no answer, and were tried again. */
  retried: number
  /** Events given up after `maxAttempts`, or because no webhook was configured. */
  failed: number
  /** Requests in flight at most, over the simulator's life. */
  maxInFlight: number
}

interface StatusJob {
  message: AcceptedMessage
  steps: AutoStatusStep[]
  dueAt: number
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
 * With `autoStatus` it also plays GatewayAPI's webhook side: after a 202 it posts signed
 * status events for the accepted messages (bounded concurrency, retries on non-2xx).
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
  /** Counters of the automatic status events (all zero unless `autoStatus` is set). */
  readonly autoStatusStats: AutoStatusStats = { pending: 0, posted: 0, retried: 0, failed: 0, maxInFlight: 0 }
  private statusQueue: StatusJob[] = []
  private statusHead = 0
  private readonly statusWorkers = new Set<Promise<void>>()
  private statusInFlight = 0
  private readonly statusAbort = new AbortController()
  private statusAgent: Agent | undefined

  constructor (readonly options: SimGatewayApiOptions) {
    super()
    // Every status worker's wait and request listens to this one signal.
    setMaxListeners(0, this.statusAbort.signal)
  }

  get url (): string {
    if (this.server === undefined) throw new Error('simulated GatewayAPI is not started')
    return this.server.url
  }

  async start (): Promise<this> {
    this.server = await listenOnLoopback((req, res) => this.handle(req, res), this.options.port)
    return this
  }

  /** Stops the server and the automatic status events (those not yet posted are dropped). */
  async close (): Promise<void> {
    this.statusAbort.abort()
    this.statusQueue = []
    this.statusHead = 0
    await Promise.all([...this.statusWorkers])
    this.autoStatusStats.pending = 0
    this.emit('status-idle')
    await Promise.all([this.server?.close(), this.statusAgent?.close()])
  }

  /** Resolves once no automatic status event is waiting or in flight. */
  async statusIdle (): Promise<void> {
    while (this.autoStatusStats.pending > 0) await new Promise((resolve) => this.once('status-idle', resolve))
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
    return this.sendWebhook(webhook.url, raw, signature)
  }

  private async sendWebhook (url: string, raw: string, signature: string | null, via: { dispatcher?: Dispatcher; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<{ status: number; body: any }> {
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

    const acceptedNow: AcceptedMessage[] = []
    const responses = (items as AcceptedMessage[]).map((m) => {
      const accepted: AcceptedMessage = { msg_id: this.nextId(), sender: m.sender, recipient: m.recipient, message: this.options.lean === true ? '' : m.message, reference: m.reference ?? null }
      this.accepted.push(accepted)
      acceptedNow.push(accepted)
      return { msg_id: accepted.msg_id, recipient: accepted.recipient, reference: accepted.reference }
    })
    this.count('202', arrivedAt, responses.length)
    sendJson(res, 202, single ? responses[0] : { responses })
    this.emit('accepted', responses.length)
    if (this.options.autoStatus !== undefined) this.queueStatuses(acceptedNow, this.options.autoStatus)
  }

  /** Schedules the status events `autoStatus.pick` chose for these messages and starts workers up to the bound. */
  private queueStatuses (messages: AcceptedMessage[], auto: AutoStatusOptions): void {
    if (this.statusAbort.signal.aborted) return
    const dueAt = Date.now() + (auto.delayMs ?? 0)
    for (const message of messages) {
      const picked = auto.pick(message)
      const steps = picked === null ? [] : Array.isArray(picked) ? picked : [picked]
      if (steps.length === 0) continue
      this.statusQueue.push({ message, steps, dueAt })
      this.autoStatusStats.pending += steps.length
    }
    const concurrency = Math.max(1, auto.concurrency ?? 8)
    while (this.statusWorkers.size < concurrency && this.statusHead < this.statusQueue.length) {
      const worker: Promise<void> = this.statusWorker(auto).finally(() => { this.statusWorkers.delete(worker) })
      this.statusWorkers.add(worker)
    }
  }

  /** Takes messages in acceptance order (so in due order), waits for each one's time, posts its events in order. */
  private async statusWorker (auto: AutoStatusOptions): Promise<void> {
    const signal = this.statusAbort.signal
    while (!signal.aborted && this.statusHead < this.statusQueue.length) {
      const job = this.statusQueue[this.statusHead++]!
      if (this.statusHead > 1024 && this.statusHead * 2 > this.statusQueue.length) {
        this.statusQueue = this.statusQueue.slice(this.statusHead)
        this.statusHead = 0
      }
      const wait = job.dueAt - Date.now()
      if (wait > 0) {
        try {
          await sleep(wait, undefined, { signal })
        } catch {
          return
        }
      }
      for (const step of job.steps) {
        if (signal.aborted) return
        const ok = await this.postStatus(job.message, step, auto)
        if (signal.aborted) return
        this.autoStatusStats.pending--
        if (ok) this.autoStatusStats.posted++
        else this.autoStatusStats.failed++
        if (this.autoStatusStats.pending === 0) this.emit('status-idle')
      }
    }
  }

  /** Posts one signed status event, retrying a non-2xx answer or a failed request with doubling waits. */
  private async postStatus (message: AcceptedMessage, step: AutoStatusStep, auto: AutoStatusOptions): Promise<boolean> {
    const { status, error } = typeof step === 'string' ? { status: step, error: undefined } : step
    const signal = this.statusAbort.signal
    // One event, one id and one body: a retry is the same event, so the receiver's replay memory applies.
    const envelope = this.statusEvent(message, status, error === undefined ? {} : { error })
    const raw = JSON.stringify(envelope)
    const maxAttempts = Math.max(1, auto.maxAttempts ?? 5)
    let delay = auto.retryDelayMs ?? 100
    for (let attempt = 1; attempt <= maxAttempts && !signal.aborted; attempt++) {
      const webhook = this.options.webhook
      if (webhook === undefined) return false
      this.statusAgent ??= new Agent({ connections: Math.max(1, auto.concurrency ?? 8), keepAliveTimeout: 10_000 })
      this.autoStatusStats.maxInFlight = Math.max(this.autoStatusStats.maxInFlight, ++this.statusInFlight)
      let answered: number | undefined
      try {
        answered = (await this.sendWebhook(webhook.url, raw, signGatewaySignature(raw, webhook.secret), { dispatcher: this.statusAgent, signal, timeoutMs: auto.timeoutMs ?? 5000 })).status
      } catch {
        answered = undefined
      } finally {
        this.statusInFlight--
      }
      if (answered !== undefined && answered >= 200 && answered < 300) {
        this.emit('status-posted', envelope)
        return true
      }
      if (attempt === maxAttempts || signal.aborted) break
      this.autoStatusStats.retried++
      try {
        await sleep(delay, undefined, { signal })
      } catch {
        break
      }
      delay *= 2
    }
    this.emit('status-failed', envelope)
    return false
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
