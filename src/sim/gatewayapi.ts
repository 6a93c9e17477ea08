import { EventEmitter } from 'node:events'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { signGatewaySignature } from '../lib/hmac-signature.js'
import { secretsEqual } from '../lib/constant-time.js'
import { delay } from '../lib/timers.js'
import { listenOnLoopback, readBody, sendJson, streamLargeBody } from './http-server.js'
import { StatusFeed, type AutoStatusOptions, type AutoStatusStats } from './gatewayapi-status-feed.js'
import { contractViolationBody, MsgIdGenerator, replyEnvelope, sendWebhook, statusEnvelope, validateMobileRequest, type AcceptedMessage, type ContractCheck, type WebhookTarget } from './gatewayapi-wire.js'
import { apiErrorBody, refusalOf, type AccountPolicy } from './gatewayapi-refusals.js'

export type { AcceptedMessage, ContractCheck } from './gatewayapi-wire.js'
export { apiErrorBody } from './gatewayapi-refusals.js'
export type { AutoStatusOptions, AutoStatusStats, AutoStatusStep } from './gatewayapi-status-feed.js'

export interface SimGatewayApiOptions {
  token: string
  /** Where and how GatewayAPI posts its webhooks (status events and replies). */
  webhook?: WebhookTarget
  port?: number
  /** Keep only references and ids of accepted messages, not their texts (for long benchmarks). */
  lean?: boolean
  /**
   * Behave like GatewayAPI after a 202: post signed status events for every accepted message
   * to `webhook` by itself. Off unless given, so tests that post events by hand are unaffected.
   */
  autoStatus?: AutoStatusOptions
  /**
   * Checks every request received and every event built against GatewayAPI's published
   * contract. A request outside it is answered 422 (`contract_violation`, see
   * contractViolationBody) and nothing of it is taken; every violation, of a request or of an
   * event, is kept in `contractViolations`, so that whoever runs the simulator can fail on it.
   */
  contract?: ContractCheck
}

/**
 * A scripted answer: a status (with headers and body, or `streamBytes` bytes of body streamed
 * as fast as the client reads), a connection dropped mid-request, or a delay before normal service.
 */
export type Fault =
  | { status: number; headers?: Record<string, string>; body?: unknown; streamBytes?: number }
  | { drop: true }
  | { delayMs: number }

/**
 * A simulated GatewayAPI Mobile Message API on 127.0.0.1: `/mobile/single` and `/mobile/multi`
 * as its OpenAPI document says (Token auth, body validation with FastAPI-shaped 422s, including
 * `expiration` and `label`; 202 with ULID-like `msg_id`s). It records what it accepted and can
 * be scripted with faults, and with the account's refusals in GatewayAPI's error shape
 * (`{"code","message","variables","incident_uuid"}`): blacklisted numbers, countries the
 * account may not text, no credit (403 each, nothing of the request sent), and a refused token.
 * With `autoStatus` it also plays GatewayAPI's webhook side: after a 202 it posts signed
 * status events for the accepted messages (bounded concurrency, retries on non-2xx), and
 * emits 'status-posted' / 'status-failed' (with the envelope) and 'status-idle'.
 * Emits 'streamed' (bytes) when a `streamBytes` answer ended or was cut. With `contract` it
 * holds every request it receives and every event it builds to GatewayAPI's published
 * contract, and keeps what does not fit in `contractViolations`.
 */
export class SimGatewayApi extends EventEmitter {
  readonly accepted: AcceptedMessage[] = []
  /** Requests answered, by status ('drop' for dropped connections). */
  readonly requestCounts = new Map<string, number>()
  /** Every request in arrival order: when it arrived, what it was answered, how many messages it carried. */
  readonly requestLog: Array<{ at: number; status: string; messages: number }> = []
  /** What did not fit `options.contract`, one line each, naming the request or event. */
  readonly contractViolations: string[] = []
  /** For each `streamBytes` answer: the body bytes written before it ended or the client cut it. */
  readonly streamedBytes: number[] = []
  /** Extra latency before every answer, in milliseconds. */
  latencyMs = 0
  /** Recipients that fail validation with a 422, as a real invalid number would. */
  readonly rejectRecipients = new Set<number>()
  /** Numbers the account may not text: a request with one is refused 403 `0x0215` (nothing of it sent). */
  readonly blacklist = new Set<number>()
  /** Dialling-code prefixes the account may not text: refused 403 `0x0217` (nothing sent). */
  readonly forbiddenCountries = new Set<string>()
  /** Whether refusals name the number (GatewayAPI's REST API does); off, they say only why. */
  nameRefusedRecipients = false
  /** Messages the account can still pay for, one each; undefined: unlimited. A request it cannot pay is refused 403 `0x0216`. */
  credit: number | undefined = undefined
  /** While set, our token is refused with this answer (a revoked or rotated token); see refuseToken(). */
  private tokenRefusal: { status: number; body: unknown } | undefined
  private readonly faults: Fault[] = []
  private outageUntil = 0
  private outage: Fault | undefined
  private readonly ids = new MsgIdGenerator()
  private server: Awaited<ReturnType<typeof listenOnLoopback>> | undefined
  private readonly feed = new StatusFeed(() => this.options.webhook, (event, ...args) => { this.emit(event, ...args) }, (envelope) => { this.checkEvent(envelope) })

  constructor (readonly options: SimGatewayApiOptions) {
    super()
  }

  /** Counters of the automatic status events (all zero unless `autoStatus` is set). */
  get autoStatusStats (): AutoStatusStats {
    return this.feed.stats
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
    await this.feed.close()
    await this.server?.close()
  }

  /** Resolves once no automatic status event is waiting or in flight. */
  async statusIdle (): Promise<void> {
    while (this.autoStatusStats.pending > 0) await new Promise((resolve) => this.once('status-idle', resolve))
  }

  /** The next requests get these answers, in order. */
  script (...faults: Fault[]): void {
    this.faults.push(...faults)
  }

  /**
   * From now on the token is refused, as GatewayAPI does for a revoked one: `status` (401 by
   * default) with its error body (`0x0210`, or `body`). Until acceptToken().
   */
  refuseToken (status = 401, body: unknown = apiErrorBody(0x0210, ['(token)'])): void {
    this.tokenRefusal = { status, body }
  }

  /** The token works again (it was renewed on the account). */
  acceptToken (): void {
    this.tokenRefusal = undefined
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
    return this.checkEvent(statusEnvelope(message, status, options))
  }

  /** An inbound-SMS envelope: a customer's reply. */
  replyEvent (sender: number, text: string, options: { timestamp?: Date } = {}): Record<string, unknown> {
    return this.checkEvent(replyEnvelope(this.ids.next(), sender, text, options))
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
    return sendWebhook(webhook.url, raw, signature)
  }

  /** Keeps what of this envelope does not fit the contract; answers the envelope unchanged. */
  private checkEvent (envelope: Record<string, unknown>): Record<string, unknown> {
    const violations = this.options.contract?.event(envelope) ?? []
    for (const v of violations) this.contractViolations.push(`event ${String(envelope.event_type)}: ${v}`)
    return envelope
  }

  private policy (): AccountPolicy {
    return { blacklist: this.blacklist, forbiddenCountries: this.forbiddenCountries, nameRefusedRecipients: this.nameRefusedRecipients, credit: this.credit }
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
    let body: any
    let isJson = true
    try {
      body = JSON.parse(raw.toString('utf8'))
    } catch {
      isJson = false
    }
    // Before any scripted answer: every request that arrives is held to the contract.
    if (this.options.contract !== undefined) {
      const violations = isJson ? this.options.contract.request(path, body) : ['the body is not JSON']
      if (violations.length > 0) {
        for (const v of violations) this.contractViolations.push(`POST ${path}: ${v}`)
        this.count('422', arrivedAt)
        return sendJson(res, 422, contractViolationBody(violations))
      }
    }
    if (this.latencyMs > 0) await delay(this.latencyMs)

    let fault = this.faults.shift() ?? (arrivedAt < this.outageUntil ? this.outage : undefined)
    if (fault !== undefined && 'delayMs' in fault) {
      await delay(fault.delayMs)
      fault = undefined
    }
    if (fault !== undefined) {
      if ('drop' in fault) {
        this.count('drop', arrivedAt)
        res.socket?.destroy()
        return
      }
      this.count(String(fault.status), arrivedAt)
      if (fault.streamBytes !== undefined) {
        const written = await streamLargeBody(res, fault.status, fault.streamBytes, fault.headers)
        this.streamedBytes.push(written)
        this.emit('streamed', written)
        return
      }
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
    if (this.tokenRefusal !== undefined) {
      this.count(String(this.tokenRefusal.status), arrivedAt)
      return sendJson(res, this.tokenRefusal.status, this.tokenRefusal.body)
    }

    if (!isJson) {
      this.count('422', arrivedAt)
      return sendJson(res, 422, { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] })
    }
    const single = path === '/mobile/single'
    const { items, details } = validateMobileRequest(body, single, this.rejectRecipients)
    if (details.length > 0) {
      this.count('422', arrivedAt)
      return sendJson(res, 422, { detail: details })
    }
    const valid = items as AcceptedMessage[]
    const refusal = refusalOf(valid.map((m) => m.recipient), this.policy())
    if (refusal !== undefined) {
      this.count(String(refusal.status), arrivedAt, valid.length)
      return sendJson(res, refusal.status, refusal.body)
    }
    if (this.credit !== undefined) this.credit -= valid.length

    const acceptedNow: AcceptedMessage[] = []
    const responses = valid.map((m) => {
      const accepted: AcceptedMessage = {
        msg_id: this.ids.next(),
        sender: m.sender,
        recipient: m.recipient,
        message: this.options.lean === true ? '' : m.message,
        reference: m.reference ?? null,
        expiration: m.expiration ?? null,
        label: m.label ?? null
      }
      this.accepted.push(accepted)
      acceptedNow.push(accepted)
      return { msg_id: accepted.msg_id, recipient: accepted.recipient, reference: accepted.reference }
    })
    this.count('202', arrivedAt, responses.length)
    sendJson(res, 202, single ? responses[0] : { responses })
    this.emit('accepted', responses.length)
    if (this.options.autoStatus !== undefined) this.feed.enqueue(acceptedNow, this.options.autoStatus)
  }
}
