import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { fullJitterDelay, type BackoffPolicy } from '../lib/backoff.js'
import type { Clock } from '../lib/clock.js'
import { setBoundedTimeout } from '../lib/timers.js'
import type { MessageSender, OutgoingMessage, SendOutcome } from './message-sender.js'
import type { ClaimedMessage, FailedMessage, Store } from './store/store.js'

export interface DispatcherOptions {
  store: Store
  sender: MessageSender
  clock: Clock
  logger: Logger
  /** Requests in flight at most. */
  concurrency: number
  /** Messages per request at most. */
  batchSize: number
  /** How long a claim owns its messages; a crashed process's messages come back after it. */
  leaseMs: number
  maxAttempts: number
  /** A message older than this is failed instead of retried. */
  maxAgeMs: number
  backoff: BackoffPolicy
  /** Pause when the provider says "slow down" without a Retry-After. */
  defaultRetryAfterMs: number
  /** Longest pause a provider's `Retry-After` may impose, so a bogus one cannot stop sending for a year (default one hour). */
  maxRetryAfterMs?: number
  /** Longest sleep with nothing due: catches messages stored by another process. */
  idlePollMs: number
  random?: () => number
  /** Told when sending halts on a configuration error (401/403). */
  onHalt?: (reason: string) => void
}

/** The longest `Retry-After` pause when none is configured: one hour. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000

export interface DispatcherState {
  running: boolean
  inFlight: number
  pausedUntil: number
  paused: boolean
  halted: string | undefined
}

/**
 * Moves due messages from the store to the provider: claims them with a lease, keeps at
 * most `concurrency` requests in flight, and turns each answer into store transitions.
 * Wakes on `wake()` (new intake), on a timer for the next due message, and when a request ends.
 */
/** `settled`: one request's (or one expiry's) messages are settled in the store; duration of the request in ms. */
export class Dispatcher extends EventEmitter<{ settled: [kind: SendOutcome['kind'] | 'expired', messages: number, durationMs: number] }> {
  private running = false
  private inFlight = new Set<Promise<void>>()
  private pausedUntil = 0
  private halted: string | undefined
  private timer: NodeJS.Timeout | undefined
  private pumping: Promise<void> | undefined
  private pumpAgain = false
  private readonly random: () => number
  private readonly maxRetryAfterMs: number

  constructor (private readonly o: DispatcherOptions) {
    super()
    this.random = o.random ?? Math.random
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS
  }

  state (): DispatcherState {
    return { running: this.running, inFlight: this.inFlight.size, pausedUntil: this.pausedUntil, paused: this.o.clock.now() < this.pausedUntil, halted: this.halted }
  }

  /** Starts claiming; idempotent. */
  start (): void {
    if (this.running) return
    this.running = true
    this.wake()
  }

  /** Stops claiming, waits for the requests in flight to be settled in the store; idempotent. */
  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.timer = undefined
    // A claim under way becomes requests in flight: wait for it, then for them.
    while (this.pumping !== undefined || this.inFlight.size > 0) {
      await this.pumping
      await Promise.allSettled([...this.inFlight])
    }
  }

  /** Something may be due now (new intake): look without waiting for the timer. */
  wake (): void {
    if (!this.running) return
    void this.pump()
  }

  private async pump (): Promise<void> {
    if (this.pumping !== undefined) {
      this.pumpAgain = true
      return
    }
    this.pumping = this.claimAndSend()
    try {
      await this.pumping
    } finally {
      this.pumping = undefined
    }
    // A wake-up that came while the timer was being armed must not wait for that timer.
    if (this.pumpAgain) this.wake()
  }

  private async claimAndSend (): Promise<void> {
    let failed = false
    try {
      do {
        this.pumpAgain = false
        while (this.running && this.halted === undefined && this.inFlight.size < this.o.concurrency && this.o.clock.now() >= this.pausedUntil) {
          const claimed = await this.o.store.claimDue(this.o.clock.now(), this.o.batchSize, this.o.leaseMs)
          if (claimed.length === 0) break
          const request: Promise<void> = this.dispatch(claimed)
            .catch((err) => this.o.logger.error({ err }, 'dispatching a batch failed; its lease will expire and it will be retried'))
            .finally(() => {
              this.inFlight.delete(request)
              this.wake()
            })
          this.inFlight.add(request)
        }
      } while (this.pumpAgain)
    } catch (err) {
      // The store is unreachable: try again after the idle poll, never spin.
      failed = true
      this.o.logger.error({ err }, 'claiming due messages failed')
    }
    await this.armTimer(failed)
  }

  /** Sleeps until the next due message, the end of a pause, or the idle poll, whichever is first. */
  private async armTimer (afterFailure: boolean): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.running || this.halted !== undefined || this.inFlight.size >= this.o.concurrency) return
    const now = this.o.clock.now()
    let at = now + this.o.idlePollMs
    if (now < this.pausedUntil) at = this.pausedUntil
    else if (!afterFailure) {
      const due = await this.o.store.nextDueAt().catch(() => undefined)
      if (due !== undefined) at = Math.min(at, due)
    }
    if (!this.running) return
    // Clamped to setTimeout's range: a far `at` wakes early and re-arms, never overflows.
    this.timer = setBoundedTimeout(() => this.wake(), at - this.o.clock.now())
  }

  private async dispatch (claimed: ClaimedMessage[]): Promise<void> {
    const now = this.o.clock.now()
    // A message re-claimed after crashes may already be out of attempts: end it, do not send it.
    const expired = claimed.filter((m) => this.exhausted(m, now, 1))
    const sendable = expired.length === 0 ? claimed : claimed.filter((m) => !this.exhausted(m, now, 1))
    if (expired.length > 0) {
      await this.o.store.fail(expired.map((m) => this.timedOut(m, m.attempts - 1)), now)
      this.emit('settled', 'expired', expired.length, 0)
    }
    if (sendable.length === 0) return
    const outgoing: OutgoingMessage[] = sendable.map((m) => ({ reference: m.reference, senderId: m.senderId, msisdn: m.msisdn, text: m.text }))
    const started = performance.now()
    const outcome = await this.o.sender.send(outgoing)
    const durationMs = performance.now() - started
    await this.settle(sendable, outcome)
    this.emit('settled', outcome.kind, sendable.length, durationMs)
  }

  private async settle (messages: ClaimedMessage[], outcome: SendOutcome): Promise<void> {
    const { store, clock, logger } = this.o
    const now = clock.now()
    switch (outcome.kind) {
      case 'sent':
        await store.markSubmitted(messages.map((m) => ({ id: m.id, providerMessageId: outcome.providerIds.get(m.reference) ?? null })), now)
        return
      case 'invalid': {
        const failed: FailedMessage[] = []
        const rest: ClaimedMessage[] = []
        for (const m of messages) {
          const reason = outcome.invalid.get(m.reference)
          if (reason === undefined) rest.push(m)
          else failed.push({ id: m.id, outcome: 'provider-rejected', reason: `refused by the provider: ${reason}` })
        }
        logger.warn({ refused: failed.length, resent: rest.length }, 'provider refused some messages of a request; resending the others')
        await store.fail(failed, now)
        // The others were never sent: back to the queue at once, the attempt not counted.
        await store.reschedule(rest.map((m) => ({ id: m.id, at: now })), 'resent after the provider refused other messages of the request', now, { refundAttempt: true })
        return
      }
      case 'refused':
        logger.warn({ status: outcome.status, reason: outcome.reason, messages: messages.length }, 'provider refused a request')
        await store.fail(messages.map((m) => ({ id: m.id, outcome: 'provider-rejected', reason: `refused by the provider (HTTP ${outcome.status}): ${outcome.reason}` })), now)
        return
      case 'unauthorized':
        await store.reschedule(messages.map((m) => ({ id: m.id, at: now })), `provider refused our credentials (HTTP ${outcome.status})`, now, { refundAttempt: true })
        if (this.halted === undefined) {
          this.halted = `provider refused our credentials (HTTP ${outcome.status}): ${outcome.reason}`
          logger.error({ status: outcome.status }, 'sending halted: the provider refused our credentials; fix the token and restart')
          this.o.onHalt?.(this.halted)
        }
        return
      case 'throttled': {
        const asked = outcome.retryAfterMs ?? this.o.defaultRetryAfterMs
        const pause = Math.min(asked, this.maxRetryAfterMs)
        const until = now + pause
        if (until > this.pausedUntil) {
          this.pausedUntil = until
          if (asked > pause) logger.warn({ status: outcome.status, pauseMs: pause, askedMs: asked }, 'provider asked us to slow down for longer than the longest pause we allow; sending paused for that')
          else logger.warn({ status: outcome.status, pauseMs: pause }, 'provider asked us to slow down; sending paused')
        }
        // Never stored beyond the cap, whatever the header said.
        const at = Math.min(this.pausedUntil, now + this.maxRetryAfterMs)
        await store.reschedule(messages.map((m) => ({ id: m.id, at })), `throttled (HTTP ${outcome.status})`, now, { refundAttempt: true })
        return
      }
      case 'transient': {
        const failed: FailedMessage[] = []
        const retry: Array<{ id: string; at: number }> = []
        for (const m of messages) {
          if (this.exhausted(m, now)) failed.push(this.timedOut(m, m.attempts, outcome.reason))
          else retry.push({ id: m.id, at: now + fullJitterDelay(this.o.backoff, m.attempts - 1, this.random) })
        }
        // A misconfiguration (e.g. a redirect) will not heal by itself: an operator must see it.
        const level = outcome.alert === true ? 'error' : 'warn'
        logger[level]({ reason: outcome.reason, ambiguous: outcome.ambiguous, retried: retry.length, failed: failed.length }, 'provider request failed; retrying with backoff')
        if (failed.length > 0) await store.fail(failed, now)
        await store.reschedule(retry, outcome.reason, now)
      }
    }
  }

  /** Out of attempts (`spare` = 1 before sending: this attempt is still allowed) or too old. */
  private exhausted (m: ClaimedMessage, now: number, spare = 0): boolean {
    return m.attempts >= this.o.maxAttempts + spare || now - m.dueSince >= this.o.maxAgeMs
  }

  private timedOut (m: ClaimedMessage, attemptsMade: number, lastError?: string): FailedMessage {
    return { id: m.id, outcome: 'send-timeout', reason: `gave up after ${attemptsMade} attempts${lastError === undefined ? '' : `: ${lastError}`}` }
  }
}
