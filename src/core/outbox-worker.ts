import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { fullJitterDelay, type BackoffPolicy } from '../lib/backoff.js'
import type { Clock } from '../lib/clock.js'
import { RegistrationPauses, type Pause } from './registration-pauses.js'
import type { OutboxName, OutboxSettlement, OutboxStore } from './store/store.js'
import { WorkLoop, type Admission, type LoopEvents } from './work-loop.js'

/** What one delivery attempt to the peer came to. */
export type DeliveryResult =
  | { kind: 'done' }
  /**
   * 5xx, 429, a 3xx or a network error: try again later, for as long as it takes.
   * `alert`: the failure points at a misconfiguration an operator must fix (logged at error).
   */
  | { kind: 'retry'; reason: string; alert?: boolean }
  /** The peer will never take this row as it is; keep it aside, counted and logged. */
  | { kind: 'park'; reason: string }
  /**
   * Hold back every row of this registration: for `retryAfterMs` (the peer asked us to slow
   * down), else until the next probe (its credentials were refused: `alert`). Nothing is parked.
   */
  | { kind: 'pause'; reason: string; retryAfterMs?: number; alert: boolean }

export interface OutboxItem {
  id: string
  registrationId: string
  attempts: number
}

export interface OutboxWorkerOptions<T extends OutboxItem> {
  outbox: OutboxName
  store: OutboxStore
  clock: Clock
  logger: Logger
  /** Claims due rows, none of the `excluded` registrations'. */
  claim: (now: number, limit: number, leaseMs: number, maxBytes: number, excluded: readonly string[]) => Promise<T[]>
  /** Sends one request's worth of items; must not throw for a peer's answer. */
  deliver: (items: T[]) => Promise<DeliveryResult>
  /** Items per request: 1 sends each alone; more groups items of one registration. */
  perRequest: number
  /** Requests in flight at most. */
  concurrency: number
  /** Items claimed at once. */
  claimSize: number
  /** Bytes of large texts (metadata, reply texts) claimed at once; default unbounded. */
  claimLimitBytes?: number
  /** How long a claim owns its rows: at least twice the longest request, so a row sent late still finishes inside it. */
  leaseMs: number
  backoff: BackoffPolicy
  idlePollMs: number
  /** How long a registration whose credentials were refused waits before it is probed again (default 5 min). */
  pauseProbeMs?: number
  /** Longest pause a peer's `Retry-After` may impose (default 1 h). */
  maxPauseMs?: number
  random?: () => number
}

/** Longest an answer waits to be settled together with others. */
export const SETTLE_WINDOW_MS = 50

interface Claimed<T> { items: T[]; claimedAt: number }
/** The `settled` event's outcome of each kind of settlement: rows delivered, retried, parked, or handed back unsent. */
const OUTCOMES = { retry: 'retry', park: 'parked', release: 'released' } as const
/** `release`: back to the queue unsent, due at `at` (default now), the attempt not worth a log line. */
type Result<T> = { items: T[]; result: Exclude<DeliveryResult, { kind: 'pause' }> | { kind: 'release'; reason: string; at?: number } }

/**
 * Drains a durable outbox to a peer on a `WorkLoop`: claims due rows with a lease, keeps at
 * most `concurrency` requests in flight, pipelined, and settles each as done, retried with
 * full-jitter backoff (never given up), or parked. Settlements that finish together share one
 * store write. A registration the peer paused is held back without holding up the others.
 */
export class OutboxWorker<T extends OutboxItem> extends EventEmitter<LoopEvents> {
  private readonly loop: WorkLoop<Claimed<T>>
  private results: Array<Result<T>> = []
  private settling: Promise<void> | undefined
  private readonly pauses = new RegistrationPauses()
  private settleTimer: NodeJS.Timeout | undefined

  constructor (private readonly o: OutboxWorkerOptions<T>) {
    super()
    this.loop = new WorkLoop<Claimed<T>>({
      name: o.outbox,
      logger: o.logger,
      clock: o.clock,
      concurrency: o.concurrency,
      idlePollMs: o.idlePollMs,
      claim: () => this.claim(),
      admit: (claimed) => this.admit(claimed),
      run: async ({ items }) => {
        const result = await o.deliver(items).catch((err: Error): DeliveryResult => ({ kind: 'retry', reason: err.message }))
        this.answered(items, result)
      },
      release: (units) => { this.queueResult({ items: units.flatMap((c) => c.items), result: { kind: 'release', reason: 'released at shutdown' } }) },
      onSleep: (until) => this.emit('sleeping', until)
    })
  }

  /** Requests in flight now. */
  get inFlightCount (): number {
    return this.loop.inFlightCount
  }

  /** Registrations held back now (paused, or probed one request at a time), for metrics and `/health`. */
  pausedRegistrations (): ReturnType<RegistrationPauses['snapshot']> {
    return this.pauses.snapshot(this.o.clock.now())
  }

  start (): void {
    this.loop.start()
  }

  /**
   * Stops claiming, waits for the requests in flight to be settled, and hands rows claimed but
   * not yet sent back to the queue at once (not after their lease); idempotent.
   */
  async stop (): Promise<void> {
    await this.loop.stop()
    await this.settleQueued()
  }

  /** Something may be due now: look without waiting for the timer. */
  wake (): void {
    this.loop.wake()
  }

  /** Due rows, none of a paused registration's, as requests. */
  private async claim (): Promise<Array<Claimed<T>>> {
    const now = this.o.clock.now()
    const claimed = await this.o.claim(now, this.o.claimSize, this.o.leaseMs, this.o.claimLimitBytes ?? Number.POSITIVE_INFINITY, this.pauses.excluded(now))
    const claimedAt = this.o.clock.now()
    return this.group(claimed).map((items) => ({ items, claimedAt }))
  }

  /** Whether a claimed request may start now; rows whose lease ran too short, or whose registration is paused, go back to the queue. */
  private admit (next: Claimed<T>): Admission {
    const now = this.o.clock.now()
    // Sent now, a request could outlive the lease and race a second owner of its rows.
    if (now - next.claimedAt > this.o.leaseMs / 2) {
      this.queueResult({ items: next.items, result: { kind: 'release', reason: 'claimed too long ago to be sent inside its lease' } })
      return 'drop'
    }
    const registration = next.items[0]!.registrationId
    const admitted = this.pauses.admit(registration, now)
    if (admitted === 'go') return 'go'
    if (admitted === 'held') return 'hold'
    this.queueResult({ items: next.items, result: { kind: 'release', reason: 'registration paused', at: this.pauses.pausedUntil(registration, now) ?? now } })
    return 'drop'
  }

  /** Keeps each registration's pause state current as answers come, then queues the settlement. */
  private answered (items: T[], result: DeliveryResult): void {
    const registration = items[0]!.registrationId
    const fields = { outbox: this.o.outbox, registration, reason: 'reason' in result ? result.reason : undefined }
    if (result.kind === 'pause') {
      const now = this.o.clock.now()
      const waitMs = Math.min(result.retryAfterMs ?? this.o.pauseProbeMs ?? 300_000, this.o.maxPauseMs ?? 3_600_000)
      const pause: Pause = { until: now + waitMs, reason: result.reason, alert: result.alert }
      if (this.pauses.pause(registration, pause)) {
        // One line when a registration's pause begins, not one per refused row or probe.
        if (result.alert) this.o.logger.error({ ...fields, probeInMs: waitMs }, 'the peer refuses this registration; its rows wait, and it is probed again later')
        else this.o.logger.warn({ ...fields, pauseMs: waitMs }, 'the peer asked this registration to slow down; paused')
      }
      // Due when the registration's pause ends (a longer one already running stays): so after a restart too.
      this.queueResult({ items, result: { kind: 'release', reason: result.reason, at: this.pauses.pausedUntil(registration, now) ?? pause.until } })
      return
    }
    if (result.kind === 'done') {
      if (this.pauses.succeeded(registration)) this.o.logger.info({ outbox: this.o.outbox, registration }, 'the peer takes this registration\'s rows again; resumed')
    } else this.pauses.ended(registration)
    this.queueResult({ items, result })
  }

  /**
   * Answers are settled together: when a claim's worth has come, or `SETTLE_WINDOW_MS` after
   * the first of them, so that a busy outbox costs one store write (one fsync) per many rows,
   * not one per request. The rows stay leased meanwhile, so nobody else takes them.
   */
  private queueResult (result: Result<T>): void {
    this.results.push(result)
    if (this.results.length >= this.o.claimSize || !this.loop.running) {
      clearTimeout(this.settleTimer)
      this.settleTimer = undefined
      void this.settleQueued()
    } else {
      this.settleTimer ??= setTimeout(() => {
        this.settleTimer = undefined
        void this.settleQueued()
      }, SETTLE_WINDOW_MS)
    }
  }

  private settleQueued (): Promise<void> {
    clearTimeout(this.settleTimer)
    this.settleTimer = undefined
    if (this.settling === undefined) {
      const drain = async (): Promise<void> => {
        while (this.results.length > 0) {
          const results = this.results
          this.results = []
          await this.settle(results)
        }
      }
      // Cleared in a later microtask, after the assignment, even when there was nothing to settle.
      this.settling = drain().finally(() => { this.settling = undefined })
    }
    return this.settling
  }

  private async settle (results: Array<Result<T>>): Promise<void> {
    const now = this.o.clock.now()
    const random = this.o.random ?? Math.random
    const done: string[] = []
    // Rows that failed alike are settled (and logged) together: one line per write, not per row.
    const failed = new Map<string, OutboxSettlement & { kind: 'retry' | 'park' | 'release'; alert: boolean }>()
    for (const { items, result } of results) {
      if (result.kind === 'done') {
        for (const item of items) done.push(item.id)
        continue
      }
      const key = `${result.kind}:${result.reason}`
      const group = failed.get(key) ?? { kind: result.kind, error: result.reason, alert: result.kind === 'retry' && result.alert === true }
      failed.set(key, group)
      if (result.kind === 'park') (group.parked ??= []).push(...items.map((item) => item.id))
      else if (result.kind === 'release') (group.retry ??= []).push(...items.map((item) => ({ id: item.id, at: result.at ?? now })))
      else (group.retry ??= []).push(...items.map((item) => ({ id: item.id, at: now + fullJitterDelay(this.o.backoff, item.attempts - 1, random) })))
    }
    const settlements: Array<{ outcome: string; rows: number; settlement: OutboxSettlement }> = done.length > 0 ? [{ outcome: 'done', rows: done.length, settlement: { done } }] : []
    for (const { kind, alert, ...settlement } of failed.values()) {
      // A failed group holds one list: its parked rows, or its rows to retry.
      const rows = (settlement.parked ?? settlement.retry)!.length
      const fields = { outbox: this.o.outbox, reason: settlement.error, rows }
      if (kind === 'park') this.o.logger.error(fields, 'peer refused rows for good; parked')
      else if (kind === 'release') this.o.logger.debug(fields, 'claimed rows handed back to the queue unsent')
      else if (alert) this.o.logger.error(fields, 'delivery failed in a way an operator must fix; retrying with backoff')
      else this.o.logger.warn(fields, 'delivery failed; retrying with backoff')
      settlements.push({ outcome: OUTCOMES[kind], rows, settlement })
    }
    for (const { outcome, rows, settlement } of settlements) {
      try {
        await this.o.store.settleOutbox(this.o.outbox, settlement, now)
      } catch (err) {
        // The rows stay leased; when the lease runs out they are claimed and sent again.
        this.o.logger.error({ err, outbox: this.o.outbox }, 'settling outbox rows failed; they will be retried after their lease')
        continue
      }
      this.emit('settled', { outcome, rows })
    }
  }

  private group (items: T[]): T[][] {
    if (this.o.perRequest <= 1) return items.map((item) => [item])
    const byRegistration = new Map<string, T[][]>()
    for (const item of items) {
      const groups = byRegistration.get(item.registrationId) ?? []
      const last = groups.at(-1)
      if (last !== undefined && last.length < this.o.perRequest) last.push(item)
      else groups.push([item])
      byRegistration.set(item.registrationId, groups)
    }
    return [...byRegistration.values()].flat()
  }
}
