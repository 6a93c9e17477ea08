import { request, type Dispatcher } from 'undici'
import type { Registration } from '../config.js'
import { readCappedBody, ResponseTooLargeError } from '../lib/capped-body.js'
import { signHubSignature } from '../lib/hmac-signature.js'

/**
 * Largest answer from Optimove we read: reports, replies and the handshake are answered with
 * a short JSON message, so 64 KiB is plenty and bounds what a faulty peer can make us hold.
 */
export const OPTIMOVE_RESPONSE_LIMIT_BYTES = 64 * 1024

/** The default deadline of one request to Optimove, when the caller sets none. */
export const DEFAULT_OPTIMOVE_TIMEOUT_MS = 10_000

export interface OptimoveReply {
  status: number
  /** Parsed JSON when the reply is JSON, else the text, else undefined. */
  body: unknown
  /** The `Location` header, where a redirect points. */
  location?: string
  /** The `Retry-After` header, when Optimove sent one (a 429 or 503). */
  retryAfter?: string
}

/** Optimove did not complete its answer (connect, headers and body) within the request's deadline. */
export class OptimoveTimeoutError extends Error {
  override name = 'OptimoveTimeoutError'
  readonly code = 'OPTIMOVE_TIMEOUT'
  constructor (readonly timeoutMs: number, options?: ErrorOptions) {
    super(`no complete answer from Optimove within ${timeoutMs} ms`, options)
  }
}

/** Why a 3xx from Optimove is a problem: it answers its endpoints directly, so a redirect means a wrong base URL. */
export function redirectReason (reply: OptimoveReply): string {
  return `HTTP ${reply.status} redirect to ${reply.location ?? '(no Location header)'}: check the registration's Optimove base URL`
}

/** `<BASE_URL><prefix><endpoint>`: the base URL is opaque, its trailing `/` already stripped. */
export function optimoveUrl (registration: Registration, endpoint: string): string {
  return `${registration.optimoveBaseUrl}${registration.optimoveApiPrefix}${endpoint}`
}

/**
 * POSTs a JSON body to one of Optimove's aggregator endpoints: serialised once, those
 * exact bytes signed (`x-hub-signature`) and sent, with the registration's `app-api-key`.
 * One deadline (`timeoutMs`) bounds the whole exchange, body included: a peer trickling its
 * answer cannot hold the request. Network errors and the deadline reject (the deadline as
 * OptimoveTimeoutError, the caller's abort with its reason); every HTTP status resolves, its
 * body read up to OPTIMOVE_RESPONSE_LIMIT_BYTES (a larger one is cut, and the status stands).
 */
export async function postToOptimove (
  registration: Registration,
  endpoint: string,
  /** An object to serialise, or JSON text already serialised (sent byte for byte). */
  payload: unknown,
  options: { dispatcher?: Dispatcher; timeoutMs?: number; signal?: AbortSignal } = {}
): Promise<OptimoveReply> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  const timeoutMs = options.timeoutMs ?? DEFAULT_OPTIMOVE_TIMEOUT_MS
  // undici's timeouts bound each wait, not the whole exchange: this signal bounds it all.
  // A timer cleared at the end (not AbortSignal.timeout/any, whose timers and listeners
  // outlive the request and cost a busy outbox a fifth of its throughput).
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort(new OptimoveTimeoutError(timeoutMs))
  }, timeoutMs)
  const callerAborted = (): void => controller.abort(options.signal?.reason)
  if (options.signal?.aborted === true) callerAborted()
  else options.signal?.addEventListener('abort', callerAborted, { once: true })
  const signal = controller.signal
  try {
    const res = await request(optimoveUrl(registration, endpoint), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'app-api-key': registration.appApiKey,
        'x-hub-signature': signHubSignature(body, registration.sharedSecret)
      },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal,
      ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher })
    })
    const location = res.headers.location
    const retryAfter = res.headers['retry-after']
    return {
      status: res.statusCode,
      body: await readReply(res),
      ...(location === undefined ? {} : { location: (Array.isArray(location) ? location[0]! : location).slice(0, 300) }),
      ...(retryAfter === undefined ? {} : { retryAfter: (Array.isArray(retryAfter) ? retryAfter[0]! : retryAfter).slice(0, 100) })
    }
  } catch (err) {
    if (timedOut && options.signal?.aborted !== true) throw new OptimoveTimeoutError(timeoutMs, { cause: err })
    throw err
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', callerAborted)
  }
}

/** The reply's body as OptimoveReply has it; one over the cap becomes a note saying so. */
async function readReply (res: Dispatcher.ResponseData): Promise<unknown> {
  let text: string
  try {
    text = (await readCappedBody(res, OPTIMOVE_RESPONSE_LIMIT_BYTES)).toString('utf8')
  } catch (err) {
    // The status is Optimove's answer; the body only explains it, and is not worth holding.
    if (err instanceof ResponseTooLargeError) return `(${err.code}: ${err.message})`
    throw err
  }
  if (text === '') return undefined
  if (String(res.headers['content-type'] ?? '').includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      // Keep the text: a malformed error body is still worth logging.
    }
  }
  return text
}
