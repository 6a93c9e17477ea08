import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { fullJitterDelay, type BackoffPolicy } from '../lib/backoff.js'
import type { Clock } from '../lib/clock.js'
import type { MessageSender, OutgoingMessage, SendOutcome } from './message-sender.js'
import { byNamedRecipients, halves, providerLabel } from './request-splitter.js'
import { SENDING_OK, type SendingStatus } from './sending-status.js'
import { SplitParts } from './split-parts.js'
import { AdaptiveConcurrency, type LoadSignal } from './adaptive-concurrency.js'
import { SendRateCaps } from './send-rate-caps.js'
import type { ClaimedMessage, ClaimScope, FailedMessage, RelayStore, RescheduledMessage } from './store/store.js'
import { WorkLoop, type LoopEvents } from './work-loop.js'

export interface DispatcherOptions {
  store: RelayStore
  sender: MessageSender
  clock: Clock
  logger: Logger
  /** Requests in flight at most: where the adaptive limit starts, and the most it rises to. */
  concurrency: number
  /** Messages per request at most. */
  batchSize: number
  /** How long a claim owns its messages; a crashed process's messages come back after it. */
  leaseMs: number
  /**
   * Deadline of one request to the provider (at most half the lease): a part of a split
   * request starts only while the claim's lease outlasts it. Default: half the lease.
   */
  requestTimeoutMs?: number
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
  /**
   * While sending is halted (credentials or configuration refused), how often one request is
   * tried to see whether it works again (default five minutes). Sending resumes by itself.
   */
  credentialsProbeMs?: number
  /** Pause of sending when the account has no credit left (default fifteen minutes); nothing is failed. */
  noCreditPauseMs?: number
  /**
   * The registrations whose messages are sent: each message carries its registration's
   * `expiration`, and its registration's id as the provider's `label` (per-tenant invoicing);
   * a registration with `maxMessagesPerSecond` is sent no faster than that (see SendRateCaps).
   */
  registrations?: ReadonlyArray<{ id: string; expiration?: string; maxMessagesPerSecond?: number }>
  /**
   * Which registrations' messages this dispatcher sends, when it is one provider account's of
   * several (see Dispatchers): `only` these, or every one `except` these (the default account's
   * dispatcher, which also sends registrations no longer configured). Default: every one.
   */
  serves?: { only?: readonly string[]; except?: readonly string[] }
  /** Told whenever sending halts, pauses or resumes, for `/health`. */
  onSendingChange?: (status: SendingStatus) => void
  /** Messages remembered as parts of split requests at most (default 100,000). */
  maxRememberedParts?: number
  /**
   * A request taken slower than this lowers the concurrency limit, as an overload does
   * (default five seconds).
   */
  latencyTargetMs?: number
}

/** The latency target when none is configured: five seconds. */
export const DEFAULT_LATENCY_TARGET_MS = 5000

/**
 * What an answer says about the provider's load: asked to slow down, a server error or a
 * timeout is an overload; a request taken is fast or slow by the target; a refusal of the
 * request itself (its content, the account, the credentials) says nothing about load.
 */
export function loadSignal (kind: SendOutcome['kind'], latencyMs: number, targetMs: number): LoadSignal {
  switch (kind) {
    case 'sent': return latencyMs > targetMs ? 'slow' : 'fast'
    case 'throttled':
    case 'transient': return 'overloaded'
    default: return 'neutral'
  }
}

/** The longest `Retry-After` pause when none is configured: one hour. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000
/** How often a halted dispatcher tries one request when none is configured: five minutes. */
export const DEFAULT_CREDENTIALS_PROBE_MS = 300_000
/** The pause when the account has no credit, when none is configured: fifteen minutes. */
export const DEFAULT_NO_CREDIT_PAUSE_MS = 900_000

export interface DispatcherState {
  running: boolean
  inFlight: number
  /** End of the current pause (slow down or no credit); in the past when none. */
  pausedUntil: number
  paused: boolean
  /** Paused because the account has no credit left. */
  noCredit: boolean
  /** Why sending is halted, if it is. */
  halted: string | undefined
  /** While halted: when one request is tried next. */
  nextProbeAt: number | undefined
  /** Requests allowed in flight now: `concurrency`, lowered while the provider is slow or overloaded. */
  concurrencyLimit: number
}

/**
 * A settlement names the claim it settles (its attempt number): if the claim's lease ran out
 * and the message was claimed again meanwhile, the late answer changes nothing.
 */
function fenced (m: ClaimedMessage): { id: string; attempt: number } {
  return { id: m.id, attempt: m.attempts }
}

/** Where an unsent part of a request goes back to the queue, and why. */
interface Hold { at: number; why: string }

/** One claim's messages, sent as one request (or its parts); a probe while sending is halted. */
interface Claim { messages: ClaimedMessage[]; probe: boolean }

const STOPPED = 'not sent: the dispatcher stopped'

/** Messages remembered as parts of split requests at most, when not configured; beyond it the memory is dropped (only a split starts over). */
export const DEFAULT_MAX_REMEMBERED_PARTS = 100_000

/** Why a message to a suppressed number ended unsent (its report's error details). */
export const OPTED_OUT = 'not sent: the recipient opted out (a STOP reply, or an operator\'s suppression list)'

/**
 * Moves due messages from the store to the provider: claims them with a lease, keeps at
 * most `concurrency` requests in flight, and turns each answer into store transitions.
 * Wakes on `wake()` (new intake), on a timer for the next due message, and when a request ends.
 *
 * Answers are acted on by what they mean: a refused recipient fails that message only (the
 * request is split until it is found, see request-splitter.ts); no credit pauses sending
 * without failing anything; refused credentials or a configuration error halt sending, and
 * then one request is tried every `credentialsProbeMs` (the next due messages: a probe that
 * GatewayAPI takes is simply sent), so that sending resumes by itself once they are fixed.
 */
export class Dispatcher extends EventEmitter<LoopEvents> {
  private readonly loop: WorkLoop<Claim>
  private throttledUntil = 0
  private noCreditUntil = 0
  private halted: { reason: string; since: number } | undefined
  private nextProbeAt = 0
  private lastStatus = JSON.stringify(SENDING_OK)
  /** Parts of split requests that went back to the queue unsent: a split goes on where it stopped. */
  private readonly parts: SplitParts<ClaimedMessage>
  private readonly random: () => number
  private readonly maxRetryAfterMs: number
  private readonly probeMs: number
  private readonly noCreditPauseMs: number
  private readonly expirations: ReadonlyMap<string, string>
  /** Requests in flight at most, adapted to the provider's answers. */
  private readonly window: AdaptiveConcurrency
  private readonly latencyTargetMs: number
  /** The registration the last claim served: the next claim serves the next one with due messages (a fair share). */
  private lastServed: string | undefined
  private readonly rateCaps: SendRateCaps

  constructor (private readonly o: DispatcherOptions) {
    super()
    this.random = o.random ?? Math.random
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS
    this.probeMs = o.credentialsProbeMs ?? DEFAULT_CREDENTIALS_PROBE_MS
    this.noCreditPauseMs = o.noCreditPauseMs ?? DEFAULT_NO_CREDIT_PAUSE_MS
    const expirations = new Map<string, string>()
    for (const r of o.registrations ?? []) if (r.expiration !== undefined) expirations.set(r.id, r.expiration)
    this.expirations = expirations
    this.parts = new SplitParts(o.maxRememberedParts ?? DEFAULT_MAX_REMEMBERED_PARTS)
    this.window = new AdaptiveConcurrency({ max: o.concurrency })
    this.latencyTargetMs = o.latencyTargetMs ?? DEFAULT_LATENCY_TARGET_MS
    this.rateCaps = new SendRateCaps(o.registrations ?? [], o.clock.now())
    this.loop = new WorkLoop<Claim>({
      name: 'dispatcher',
      logger: o.logger,
      clock: o.clock,
      concurrency: o.concurrency,
      idlePollMs: o.idlePollMs,
      mayClaim: (running) => this.mayClaim(running),
      claim: () => this.claim(),
      run: ({ messages, probe }) => this.dispatch(messages, probe),
      release: (claims) => {
        const now = this.o.clock.now()
        return this.o.store.reschedule(claims.flatMap((c) => c.messages).map((m) => ({ ...fenced(m), at: now })), STOPPED, now, { refundAttempt: true })
      },
      nextWakeAt: (afterFailure, running) => this.nextWakeAt(afterFailure, running),
      onSleep: (until) => this.emit('sleeping', until)
    })
  }

  state (): DispatcherState {
    const now = this.o.clock.now()
    return {
      running: this.loop.running,
      inFlight: this.loop.inFlightCount,
      pausedUntil: this.pausedUntil,
      paused: now < this.pausedUntil,
      noCredit: now < this.noCreditUntil,
      halted: this.halted?.reason,
      nextProbeAt: this.halted === undefined ? undefined : this.nextProbeAt,
      concurrencyLimit: this.window.limit
    }
  }

  /** Whether and why sending stands still, for `/health`; a halt outranks a pause. */
  sending (): SendingStatus {
    if (this.halted !== undefined) return { state: 'halted', reason: this.halted.reason, since: this.halted.since, nextProbeAt: this.nextProbeAt }
    const now = this.o.clock.now()
    if (now < this.noCreditUntil) return { state: 'paused', cause: 'no-credit', until: this.pausedUntil }
    if (now < this.throttledUntil) return { state: 'paused', cause: 'throttled', until: this.pausedUntil }
    return SENDING_OK
  }

  /** Starts claiming; idempotent. */
  start (): void {
    this.loop.start()
  }

  /** The end of the current pause, whichever kind; in the past when none. */
  private get pausedUntil (): number {
    return Math.max(this.throttledUntil, this.noCreditUntil)
  }

  /** Tells `onSendingChange` when the status changed since it was last told (a pause's end is seen when its timer wakes us). */
  private noteSending (): void {
    const status = this.sending()
    const key = JSON.stringify(status)
    if (key === this.lastStatus) return
    this.lastStatus = key
    this.o.onSendingChange?.(status)
  }

  /**
   * Stops claiming, waits for the requests in flight to be settled in the store, and hands
   * messages claimed but not yet sent back to the queue (their attempt refunded); idempotent.
   */
  async stop (): Promise<void> {
    await this.loop.stop()
  }

  /** Something may be due now (new intake): look without waiting for the timer. */
  wake (): void {
    this.loop.wake()
  }

  /**
   * Whether to claim now: not while paused; while halted, one request at a time, once the probe
   * is due and none is in flight. Asked before each claim, so a pause's end is told here too.
   */
  private mayClaim (running: number): boolean {
    this.noteSending()
    const now = this.o.clock.now()
    if (now < this.pausedUntil) return false
    if (running >= this.window.limit) return false
    return this.halted === undefined || (running === 0 && now >= this.nextProbeAt)
  }

  private async claim (): Promise<Claim[]> {
    const now = this.o.clock.now()
    const rateCaps = this.rateCaps.caps(now)
    // Registrations of the other accounts are capped at nothing.
    const except = this.o.serves?.except ?? []
    const caps = except.length === 0 ? rateCaps : { ...rateCaps, ...Object.fromEntries(except.map((r) => [r, 0])) }
    const only = this.o.serves?.only
    const scope: ClaimScope = {
      ...(this.lastServed === undefined ? {} : { after: this.lastServed }), ...(caps === undefined ? {} : { caps }), ...(only === undefined ? {} : { only })
    }
    const messages = await this.o.store.claimDue(now, this.o.batchSize, this.o.leaseMs, scope)
    if (messages.length === 0) return []
    this.lastServed = messages[0]!.registrationId
    this.rateCaps.take(this.lastServed, messages.length, now)
    const probe = this.halted !== undefined
    if (probe) this.o.logger.info({ messages: messages.length }, 'sending is halted: trying one request to see whether the provider takes it now')
    return [{ messages, probe }]
  }

  /**
   * The next due message, the end of a pause, the next probe while halted, or the idle poll,
   * whichever is first (a pause or a probe not yet due comes first in any case).
   */
  private async nextWakeAt (afterFailure: boolean, running: number): Promise<number | null> {
    // A request in flight while halted wakes us when it ends.
    if (this.halted !== undefined && running > 0) return null
    // So does one when as many are in flight as the provider keeps up with now.
    if (running >= this.window.limit) return null
    const now = this.o.clock.now()
    let notBefore = this.pausedUntil
    if (this.halted !== undefined) notBefore = Math.max(notBefore, this.nextProbeAt)
    if (now < notBefore) return notBefore
    // A registration held back by its send rate counts from when it may send again.
    const refill = this.rateCaps.nextRefillAt(now)
    const idle = Math.min(now + this.o.idlePollMs, refill ?? Infinity)
    if (afterFailure) return idle
    // A store that does not answer leaves the idle poll: the loop's own fallback.
    const due = await this.o.store.nextDueAt([...this.rateCaps.held(now), ...this.o.serves?.except ?? []], this.o.serves?.only)
    return due === undefined ? idle : Math.min(idle, due)
  }

  private async dispatch (all: ClaimedMessage[], probe: boolean): Promise<void> {
    const now = this.o.clock.now()
    // A message to a number on its registration's suppression list (it replied STOP) is never sent.
    const optedOut = all.filter((m) => m.optedOut === true)
    const claimed = optedOut.length === 0 ? all : all.filter((m) => m.optedOut !== true)
    if (optedOut.length > 0) {
      await this.o.store.fail(optedOut.map((m) => ({ ...fenced(m), outcome: 'opted-out', reason: OPTED_OUT })), now)
      this.emit('settled', { outcome: 'opted-out', rows: optedOut.length })
    }
    // A message re-claimed after crashes may already be out of attempts: end it, do not send it.
    const expired = claimed.filter((m) => this.exhausted(m, now, 1))
    const sendable = expired.length === 0 ? claimed : claimed.filter((m) => !this.exhausted(m, now, 1))
    if (expired.length > 0) {
      await this.o.store.fail(expired.map((m) => this.timedOut(m, m.attempts - 1)), now)
      this.emit('settled', { outcome: 'expired', rows: expired.length })
    }
    if (sendable.length === 0) return
    await this.relay(this.parts.requestsOf(sendable), now, probe)
  }

  /**
   * Sends a claim's messages: one request, and, when it is refused for a recipient or for its
   * size, its parts, one request at a time (so that `concurrency` still bounds the requests in
   * flight). A part is started only while the claim's lease outlasts a whole request
   * (`requestTimeoutMs`), so that no request outlives its messages' lease. What cannot be sent
   * now (stopped, halted, paused, lease running short) goes back to the queue, its attempt not
   * counted, and its parts are remembered so that the split goes on at the next claim.
   */
  private async relay (initial: ClaimedMessage[][], claimedAt: number, probe: boolean): Promise<void> {
    const parts = [...initial]
    for (let first = true; parts.length > 0; first = false) {
      const part = parts.shift()!
      const hold = this.holdOf(claimedAt, first, probe)
      if (hold !== undefined) {
        const rest = [part, ...parts]
        if (rest.length > 1) this.parts.remember(rest)
        await this.o.store.reschedule(rest.flat().map((m) => ({ ...fenced(m), at: hold.at })), hold.why, this.o.clock.now(), { refundAttempt: true })
        return
      }
      const started = performance.now()
      const sentAt = this.o.clock.now()
      const outcome = await this.o.sender.send(part.map((m) => this.outgoing(m)))
      const durationMs = performance.now() - started
      const answeredAt = this.o.clock.now()
      this.window.observe(loadSignal(outcome.kind, answeredAt - sentAt, this.latencyTargetMs), sentAt, answeredAt)
      parts.push(...await this.settle(part, outcome, probe && first, this.loggerFor(part)))
      this.emit('settled', { outcome: outcome.kind, rows: part.length, durationMs })
      this.noteSending()
    }
  }

  /**
   * Why the next part of a claim must wait, if it must. The claim's first request goes even
   * after `stop()` (it was claimed to be sent; `stop()` waits for it), and a probe's goes while halted.
   */
  private holdOf (claimedAt: number, first: boolean, probe: boolean): Hold | undefined {
    const now = this.o.clock.now()
    if (!first && !this.loop.running) return { at: now, why: STOPPED }
    if (this.halted !== undefined && !(first && probe)) return { at: now, why: `not sent: ${this.halted.reason}` }
    if (now < this.pausedUntil) return { at: this.pausedUntil, why: 'not sent: sending is paused' }
    if (now + (this.o.requestTimeoutMs ?? this.o.leaseMs / 2) > claimedAt + this.o.leaseMs) return { at: now, why: 'not sent yet: the lease ran short while a refused request was being split' }
    return undefined
  }

  private outgoing (m: ClaimedMessage): OutgoingMessage {
    const expiration = this.expirations.get(m.registrationId)
    return {
      reference: m.reference,
      senderId: m.senderId,
      msisdn: m.msisdn,
      text: m.text,
      ...(expiration === undefined ? {} : { expiration }),
      label: providerLabel(m.registrationId)
    }
  }

  /**
   * Turns one request's answer into store transitions. Returns the parts of the request to
   * send next (a refused request split, or the unblamed rest of one): none of them was taken
   * by the provider, so they are sent again at once, within the same claim and attempt.
   */
  private async settle (messages: ClaimedMessage[], outcome: SendOutcome, probe: boolean, logger: Logger): Promise<ClaimedMessage[][]> {
    const { store, clock } = this.o
    const now = clock.now()
    // A probe answered with anything but a refusal of our credentials or configuration, a
    // throttle or a failure to get through shows that the provider takes our requests again.
    if (probe) {
      if (outcome.kind === 'unauthorized' || outcome.kind === 'misconfigured' || outcome.kind === 'throttled' || outcome.kind === 'transient') {
        this.nextProbeAt = now + this.probeMs
        logger.warn({ kind: outcome.kind, nextProbeInMs: this.probeMs }, 'sending stays halted: the provider did not take the request')
      } else this.resume(now)
    }
    switch (outcome.kind) {
      case 'sent':
        logger.debug({ messages: messages.length }, 'request taken by the provider')
        await store.markSubmitted(messages.map((m) => ({ ...fenced(m), providerMessageId: outcome.providerIds.get(m.reference) ?? null })), now)
        return []
      case 'invalid': {
        const failed: FailedMessage[] = []
        const rest: ClaimedMessage[] = []
        for (const m of messages) {
          const reason = outcome.invalid.get(m.reference)
          if (reason === undefined) rest.push(m)
          else failed.push({ ...fenced(m), outcome: 'provider-rejected', reason: `refused by the provider: ${reason}` })
        }
        logger.warn({ refused: failed.length, resent: rest.length }, 'provider refused some messages of a request; resending the others')
        await store.fail(failed, now)
        // The others were never sent: sent again at once, within this claim's attempt.
        return rest.length === 0 ? [] : [rest]
      }
      case 'rejected': {
        const { named, others } = byNamedRecipients(messages, outcome.recipients)
        const refused = named.length > 0 ? named : messages.length === 1 ? messages : []
        if (refused.length === 0) {
          // The answer does not say which recipient it refused: find out by halves.
          logger.info({ status: outcome.status, code: outcome.code, reason: outcome.reason, messages: messages.length }, 'provider refused a recipient of a request without naming it; splitting the request')
          return halves(messages)
        }
        logger.warn({ status: outcome.status, code: outcome.code, reason: outcome.reason, refused: refused.length, resent: others.length }, 'provider refused a recipient; failing its message, sending the others')
        await store.fail(refused.map((m) => ({ ...fenced(m), outcome: 'provider-rejected', reason: outcome.reason, ...(outcome.code === null ? {} : { errorCode: outcome.code }) })), now)
        return named.length > 0 && others.length > 0 ? [others] : []
      }
      case 'too-large':
        if (messages.length > 1) {
          logger.warn({ status: outcome.status, messages: messages.length }, 'provider refused a request as too large; sending it in halves')
          return halves(messages)
        }
        logger.warn({ status: outcome.status, reason: outcome.reason }, 'provider refused a single message as too large')
        await store.fail(messages.map((m) => ({ ...fenced(m), outcome: 'provider-rejected', reason: `refused by the provider (HTTP ${outcome.status}): ${outcome.reason}` })), now)
        return []
      case 'no-credit': {
        const until = now + this.noCreditPauseMs
        if (until > this.noCreditUntil) {
          if (now >= this.noCreditUntil) logger.error({ status: outcome.status, code: outcome.code, reason: outcome.reason, pauseMs: this.noCreditPauseMs }, 'sending paused: the provider account has no credit left; nothing is failed, sending is tried again after the pause')
          this.noCreditUntil = until
        }
        // Never failed: back to the queue for the end of the pause, the attempt not counted.
        await store.reschedule(messages.map((m) => ({ ...fenced(m), at: this.noCreditUntil })), `no credit left (HTTP ${outcome.status}): ${outcome.reason}`, now, { refundAttempt: true })
        return []
      }
      case 'refused':
        logger.warn({ status: outcome.status, reason: outcome.reason, messages: messages.length }, 'provider refused a request')
        await store.fail(messages.map((m) => ({ ...fenced(m), outcome: 'provider-rejected', reason: `refused by the provider (HTTP ${outcome.status}): ${outcome.reason}` })), now)
        return []
      case 'unauthorized':
      case 'misconfigured': {
        const reason = outcome.kind === 'unauthorized'
          ? `provider refused our credentials (HTTP ${outcome.status}): ${outcome.reason}`
          : `provider configuration error (HTTP ${outcome.status}): ${outcome.reason}`
        // Halted before the messages go back: their return wakes the loop, which must not send them again before the probe.
        this.halt(reason, outcome.status, now, logger)
        await store.reschedule(messages.map((m) => ({ ...fenced(m), at: now })), reason, now, { refundAttempt: true })
        return []
      }
      case 'throttled': {
        const asked = outcome.retryAfterMs ?? this.o.defaultRetryAfterMs
        const pause = Math.min(asked, this.maxRetryAfterMs)
        const until = now + pause
        if (until > this.throttledUntil) {
          this.throttledUntil = until
          if (asked > pause) logger.warn({ status: outcome.status, pauseMs: pause, askedMs: asked }, 'provider asked us to slow down for longer than the longest pause we allow; sending paused for that')
          else logger.warn({ status: outcome.status, pauseMs: pause }, 'provider asked us to slow down; sending paused')
        }
        // Never stored beyond the cap, whatever the header said.
        const at = Math.min(this.throttledUntil, now + this.maxRetryAfterMs)
        await store.reschedule(messages.map((m) => ({ ...fenced(m), at })), `throttled (HTTP ${outcome.status})`, now, { refundAttempt: true })
        return []
      }
      case 'transient': {
        const failed: FailedMessage[] = []
        const retry: RescheduledMessage[] = []
        for (const m of messages) {
          if (this.exhausted(m, now)) failed.push(this.timedOut(m, m.attempts, outcome.reason))
          else retry.push({ ...fenced(m), at: now + fullJitterDelay(this.o.backoff, m.attempts - 1, this.random) })
        }
        // A misconfiguration (e.g. a redirect) will not heal by itself: an operator must see it.
        const level = outcome.alert === true ? 'error' : 'warn'
        logger[level]({ reason: outcome.reason, ambiguous: outcome.ambiguous, retried: retry.length, failed: failed.length }, 'provider request failed; retrying with backoff')
        if (failed.length > 0) await store.fail(failed, now)
        await store.reschedule(retry, outcome.reason, now)
        return []
      }
    }
  }

  /** Halts sending (once; later refusals while halted change nothing) until a probe gets through. */
  private halt (reason: string, status: number, now: number, logger: Logger): void {
    if (this.halted !== undefined) return
    this.halted = { reason, since: now }
    this.nextProbeAt = now + this.probeMs
    logger.error({ status, reason, probeEveryMs: this.probeMs }, 'sending halted: the provider refused our credentials or configuration; the queue waits, one request is tried again after the probe interval, and sending resumes by itself once it is taken')
  }

  private resume (now: number): void {
    if (this.halted === undefined) return
    this.o.logger.info({ haltedForMs: now - this.halted.since }, 'sending resumed: the provider took a request again')
    this.halted = undefined
  }

  /**
   * The logger of one request's lines: they name the X-Request-Id of each campaign request whose
   * messages it carries (`requestIds`), so that a campaign's intake and its sending read as one story.
   */
  private loggerFor (messages: readonly ClaimedMessage[]): Logger {
    const requestIds = [...new Set(messages.flatMap((m) => m.traceId === undefined ? [] : [m.traceId]))]
    return requestIds.length === 0 ? this.o.logger : this.o.logger.child({ requestIds })
  }

  /** Out of attempts (`spare` = 1 before sending: this attempt is still allowed) or too old. */
  private exhausted (m: ClaimedMessage, now: number, spare = 0): boolean {
    return m.attempts >= this.o.maxAttempts + spare || now - m.dueSince >= this.o.maxAgeMs
  }

  private timedOut (m: ClaimedMessage, attemptsMade: number, lastError?: string): FailedMessage {
    return { ...fenced(m), outcome: 'send-timeout', reason: `gave up after ${attemptsMade} attempts${lastError === undefined ? '' : `: ${lastError}`}` }
  }
}
