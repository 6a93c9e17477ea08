import type { Logger } from 'pino'
import type { Registration } from '../config.js'
import { fullJitterDelay } from '../lib/backoff.js'
import { delay } from '../lib/timers.js'
import { OptimoveTimeoutError, postToOptimove, redirectReason } from './signed-post.js'

export const HANDSHAKE_ENDPOINT = '/handshake'

export interface HandshakeOptions {
  campaignSendUrl: string
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
  logger: Logger
  signal?: AbortSignal
  random?: () => number
  /** Deadline of one attempt, over the whole exchange (default 10 s). */
  timeoutMs?: number
}

/** Optimove refused the handshake for good (400 or another non-retryable 4xx): our configuration is wrong. */
export class HandshakeRejectedError extends Error {
  override name = 'HandshakeRejectedError'
  constructor (readonly registrationId: string, readonly status: number, reason: string) {
    super(`handshake of registration "${registrationId}" rejected by Optimove (${status}): ${reason}`)
  }
}

/** Every attempt failed transiently (5xx, 429, 3xx, timeout or network) and the retries are used up. */
export class HandshakeExhaustedError extends Error {
  override name = 'HandshakeExhaustedError'
  constructor (readonly registrationId: string, attempts: number, lastProblem: string) {
    super(`handshake of registration "${registrationId}" failed after ${attempts} attempts: ${lastProblem}`)
  }
}

export type HandshakeOutcome = 'registered' | 'already-registered'

/**
 * Registers us with Optimove (spec section 1). Any 2xx = registered, 409 = already registered;
 * 400 (and other 4xx but 429) = rejected, thrown at once with Optimove's reason;
 * 5xx, 429, timeouts and network errors = retried with full-jitter exponential backoff, bounded;
 * a 3xx is retried the same way but logged at error (a wrong base URL, which an operator must fix).
 */
export async function performHandshake (registration: Registration, options: HandshakeOptions): Promise<HandshakeOutcome> {
  const payload = { aggregatorApiKey: registration.aggregatorApiKey, campaignSendUrl: options.campaignSendUrl, senderId: registration.senderId }
  const log = options.logger.child({ registration: registration.id })
  let lastProblem = ''
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    let alert = false
    try {
      const reply = await postToOptimove(registration, HANDSHAKE_ENDPOINT, payload, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
      })
      if (reply.status >= 200 && reply.status < 300) {
        log.info({ status: reply.status }, 'handshake completed')
        return 'registered'
      }
      if (reply.status === 409) {
        log.info('handshake already registered (409)')
        return 'already-registered'
      }
      if (reply.status >= 300 && reply.status < 400) {
        alert = true
        lastProblem = redirectReason(reply)
      } else {
        const reason = describeOptimoveError(reply.body)
        if (reply.status < 500 && reply.status !== 429) throw new HandshakeRejectedError(registration.id, reply.status, reason)
        lastProblem = `HTTP ${reply.status}: ${reason}`
      }
    } catch (err) {
      if (err instanceof HandshakeRejectedError || options.signal?.aborted === true) throw err
      lastProblem = err instanceof OptimoveTimeoutError ? `timeout: ${err.message}` : `network error: ${(err as Error).message}`
    }
    const last = attempt === options.maxAttempts
    const wait = last ? 0 : fullJitterDelay({ baseMs: options.baseDelayMs, capMs: options.maxDelayMs }, attempt - 1, options.random)
    // A redirect will not heal by itself: every one is logged at error, the last one too.
    if (alert) log.error({ attempt, ...(last ? {} : { retryInMs: wait }), problem: lastProblem }, 'handshake redirected: Optimove answers it directly, so the base URL is probably wrong')
    else if (!last) log.warn({ attempt, retryInMs: wait, problem: lastProblem }, 'handshake failed, retrying')
    if (last) break
    await delay(wait, options.signal)
  }
  throw new HandshakeExhaustedError(registration.id, options.maxAttempts, lastProblem)
}

/** Optimove's error bodies come as `{message}` or as problem details `{title, errors}`. */
export function describeOptimoveError (body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 500)
  if (typeof body !== 'object' || body === null) return 'no reason given'
  const { message, title, errors } = body as { message?: unknown; title?: unknown; errors?: unknown }
  const parts: string[] = []
  if (typeof message === 'string') parts.push(message)
  else if (typeof title === 'string') parts.push(title)
  if (typeof errors === 'object' && errors !== null) {
    for (const [field, list] of Object.entries(errors)) parts.push(`${field}: ${Array.isArray(list) ? list.join(' ') : String(list)}`)
  }
  return parts.length > 0 ? parts.join('; ') : JSON.stringify(body).slice(0, 500)
}
