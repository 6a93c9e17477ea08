import { Pool } from 'undici'
import type { MessageSender, OutgoingMessage, SendOutcome } from '../core/message-sender.js'
import type { Clock } from '../lib/clock.js'
import { systemClock } from '../lib/clock.js'
import { readCappedBody, ResponseTooLargeError } from '../lib/capped-body.js'
import { parseRetryAfter } from '../lib/retry-after.js'
import { readApiError } from './api-error.js'
import { classifyApiError } from './error-codes.js'
import { invalidItemsOf } from './validation-error.js'

export interface GatewayApiClientOptions {
  baseUrl: string
  token: string
  /** The connections to `baseUrl` to share with the other accounts on that host (see createAccountSenders); none: a pool of its own. */
  pool?: Pool
  /** Open connections to GatewayAPI at most (keep well below its 40 per client IP). */
  connections: number
  connectTimeoutMs: number
  /** Time to wait for the answer's headers, and between chunks of its body. */
  requestTimeoutMs: number
  clock?: Clock
}

/**
 * Largest answer from GatewayAPI we read: a 202 for 1,000 messages is about 110 KB (a msg_id,
 * recipient and reference each), so 1 MiB leaves a wide margin and still bounds our memory.
 */
export const GATEWAYAPI_RESPONSE_LIMIT_BYTES = 1024 * 1024

/** The errors raised before a byte of the request could reach GatewayAPI: safe to resend, nothing was sent. */
export const NOT_SENT_ERRORS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'])

/**
 * GatewayAPI's Mobile Message API as a MessageSender: one undici Pool for its origin,
 * `POST /mobile/multi` (or `/mobile/single` for one message), answers classified for the
 * dispatcher and matched by `reference`, never by position. Every response body is consumed,
 * up to GATEWAYAPI_RESPONSE_LIMIT_BYTES: a larger answer is cut and counts as an ambiguous failure.
 */
export function createGatewayApiClient (options: GatewayApiClientOptions): MessageSender {
  const clock = options.clock ?? systemClock
  const pool = options.pool ?? createGatewayApiPool(options)
  const headers = {
    authorization: `Token ${options.token}`,
    accept: 'application/json',
    'content-type': 'application/json'
  }

  async function send (messages: OutgoingMessage[]): Promise<SendOutcome> {
    const single = messages.length === 1
    const items = messages.map(toRequestItem)
    let status: number
    let responseHeaders: Record<string, string | string[] | undefined>
    let body: unknown
    try {
      const res = await pool.request({
        path: single ? '/mobile/single' : '/mobile/multi',
        method: 'POST',
        headers,
        body: JSON.stringify(single ? items[0] : { messages: items }),
        // undici's timeouts bound each wait, not the whole exchange: this bounds it all,
        // so that no request outlives its messages' lease.
        signal: AbortSignal.timeout(options.requestTimeoutMs)
      })
      status = res.statusCode
      responseHeaders = res.headers
      try {
        body = parseBody(await readCappedBody(res, GATEWAYAPI_RESPONSE_LIMIT_BYTES))
      } catch (err) {
        // An answer we refused to hold is one we cannot read: the messages may have been taken.
        if (err instanceof ResponseTooLargeError) return { kind: 'transient', reason: `${err.code} (HTTP ${status}): ${err.message}`, ambiguous: true }
        // An unreadable body still has a status: a 202 means the messages were taken.
        body = undefined
      }
    } catch (err) {
      const raw = (err as { code?: unknown }).code
      // Our own deadline aborts with a DOMException (numeric code): name it by its name.
      const code = typeof raw === 'string' ? raw : (err as Error).name
      return { kind: 'transient', reason: `${code}: ${(err as Error).message}`, ambiguous: !NOT_SENT_ERRORS.has(code) }
    }

    if (status === 200 || status === 202) return { kind: 'sent', providerIds: providerIdsOf(body, single) }
    if (status === 429 || status === 503) return { kind: 'throttled', status, retryAfterMs: parseRetryAfter(responseHeaders['retry-after'], clock.now()) }
    if (status >= 300 && status < 400) {
      // GatewayAPI answers its API directly: a redirect means a wrong base URL (or a proxy in
      // the way), and undici does not follow it. Nothing was sent; retry, and alert.
      const location = headerValue(responseHeaders['location'])?.slice(0, 300) ?? '(no Location header)'
      return { kind: 'transient', reason: `HTTP ${status} redirect to ${location}: check GATEWAYAPI_BASE_URL`, ambiguous: false, alert: true }
    }
    if (status >= 500) return { kind: 'transient', reason: `HTTP ${status}: ${describe(body)}`, ambiguous: false }
    return refusalOf(status, body, messages, single)
  }

  // A shared pool is closed by whoever made it.
  return { send, close: () => options.pool === undefined ? pool.close() : Promise.resolve() }
}

/**
 * One MobileMessageRequest: `recipient` a JSON integer; `expiration` and `label` only when the
 * message has them (an undefined member is left out of the JSON).
 */
function toRequestItem (m: OutgoingMessage): Record<string, unknown> {
  return { sender: m.senderId, recipient: Number(m.msisdn), message: m.text, reference: m.reference, expiration: m.expiration, label: m.label }
}

/**
 * A 4xx other than 429, classified by what it means rather than by its status alone:
 * - 413: the body was too large for GatewayAPI (or a proxy before it): split and resend.
 * - 404, 405, 415: we call the wrong place or the wrong way (a base URL with a path, a proxy
 *   in the way): a configuration error that will not heal by itself.
 * - a 422 naming items (`detail[].loc`): those messages are invalid.
 * - an error code (or, without one, words) meaning a recipient-level refusal, no credit, or
 *   refused credentials/account: `rejected`, `no-credit` or `unauthorized`.
 * - 402: no credit. 401, and a 403 that says nothing more: our credentials were refused.
 * - anything else: the request is refused for good.
 */
function refusalOf (status: number, body: unknown, messages: OutgoingMessage[], single: boolean): SendOutcome {
  if (status === 413) return { kind: 'too-large', status, reason: describe(body) }
  if (status === 404 || status === 405 || status === 415) {
    return { kind: 'misconfigured', status, reason: `check GATEWAYAPI_BASE_URL and any proxy in the way: ${describe(body)}` }
  }
  if (status === 422) {
    const invalid = new Map<string, string>()
    for (const [index, reason] of invalidItemsOf(body, single)) {
      const message = messages[index]
      if (message !== undefined) invalid.set(message.reference, reason)
    }
    if (invalid.size > 0) return { kind: 'invalid', invalid }
  }
  const error = readApiError(body)
  const meaning = classifyApiError(error.codeNumber, error.text)
  const words = error.text === '' ? describe(body) : error.text
  if (meaning === 'recipient') return { kind: 'rejected', status, code: error.code, reason: words, recipients: error.msisdns }
  if (meaning === 'no-credit') return { kind: 'no-credit', status, code: error.code, reason: words }
  if (meaning === 'credentials' || meaning === 'account') return { kind: 'unauthorized', status, reason: describe(body) }
  if (status === 402) return { kind: 'no-credit', status, code: error.code, reason: describe(body) }
  if (status === 401 || status === 403) return { kind: 'unauthorized', status, reason: describe(body) }
  return { kind: 'refused', status, reason: describe(body) }
}

/** JSON when the body is JSON, else its text (kept for the log), else undefined. */
function parseBody (raw: Buffer): unknown {
  if (raw.length === 0) return undefined
  const text = raw.toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function providerIdsOf (body: unknown, single: boolean): Map<string, string | null> {
  const ids = new Map<string, string | null>()
  const responses = single ? [body] : (body as { responses?: unknown } | undefined)?.responses
  if (!Array.isArray(responses)) return ids
  for (const r of responses as Array<{ msg_id?: unknown; reference?: unknown }>) {
    if (typeof r?.reference === 'string') ids.set(r.reference, typeof r.msg_id === 'string' ? r.msg_id : null)
  }
  return ids
}

function describe (body: unknown): string {
  if (body === undefined) return 'no body'
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  return text.slice(0, 300)
}

/** The connections to one GatewayAPI host: at most `connections` open, each request bounded by the request timeout. */
export function createGatewayApiPool (options: Pick<GatewayApiClientOptions, 'baseUrl' | 'connections' | 'connectTimeoutMs' | 'requestTimeoutMs'>): Pool {
  return new Pool(options.baseUrl, {
    connections: options.connections,
    connectTimeout: options.connectTimeoutMs,
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
    keepAliveTimeout: 30_000
  })
}
