import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { setBoundedTimeout } from '../lib/timers.js'

/** What a loop tells its listeners once rows are stored with the outcome of an attempt. */
export interface Settled {
  /** What the attempt came to (the loop's own vocabulary: `sent`, `throttled`, `done`, `parked`, ...). */
  outcome: string
  rows: number
  /** How long the request to the peer took, when one was sent. */
  durationMs?: number
}

/** The events of every loop: one payload shape, whichever loop emits it. */
export interface LoopEvents {
  settled: [settled: Settled]
  /** The loop went to sleep until this time (epoch ms), or until a running unit ends (`null`). */
  sleeping: [until: number | null]
}

/** A claimed unit's fate when it waits for a free slot: start it, keep it waiting, or it was handed back. */
export type Admission = 'go' | 'hold' | 'drop'

export interface WorkLoopOptions<U> {
  /** Names the loop in its log lines. */
  name: string
  logger: Logger
  clock: Clock
  /** Units (requests) running at once at most. */
  concurrency: number
  /** Longest sleep with nothing due: catches work stored by another process. */
  idlePollMs: number
  /**
   * Claims due work as units of one request each; none when nothing is due. `slots` requests
   * may start now; more units wait in the loop's backlog for a free slot.
   */
  claim: (slots: number) => Promise<U[]>
  /** Sends one unit and settles it. A rejection is logged: its rows come back after their lease. */
  run: (unit: U) => Promise<void>
  /** Asked before each claim, with the units running now: whether claiming may go on (a pause, one probe at a time). */
  mayClaim?: (running: number) => boolean
  /** Asked of a unit in the backlog when a slot is free; it must hand a dropped unit back itself. Default: go. */
  admit?: (unit: U) => Admission
  /** Units claimed but never started (the loop stopped): hand them back to the queue. */
  release: (units: U[]) => void | Promise<void>
  /**
   * When to look again if nothing wakes the loop sooner; `null` when the end of a running unit
   * will. Default: after the idle poll. `afterFailure`: the last claim failed (the store is unreachable).
   */
  nextWakeAt?: (afterFailure: boolean, running: number) => Promise<number | null>
  /** Told each time the loop goes to sleep: until when, or `null` until a running unit ends. */
  onSleep?: (until: number | null) => void
}

/**
 * The one loop of leased work, shared by the dispatcher and both outboxes: claims due work,
 * keeps at most `concurrency` units running, pipelined (each unit settles on its own, so a
 * slow request never holds up the others), and sleeps until `nextWakeAt` or a `wake()`.
 *
 * As in graphile-worker's worker: one round at a time; a `wake()` during a round makes another
 * round follow it, so no wake-up is lost and none runs twice at once. A unit's end wakes the loop.
 */
export class WorkLoop<U> {
  private started = false
  private readonly inFlight = new Set<Promise<void>>()
  private backlog: U[] = []
  private round: Promise<void> | undefined
  private again = false
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly o: WorkLoopOptions<U>) {}

  get running (): boolean {
    return this.started
  }

  /** Units running now. */
  get inFlightCount (): number {
    return this.inFlight.size
  }

  /** Starts claiming; idempotent. */
  start (): void {
    if (this.started) return
    this.started = true
    this.wake()
  }

  /**
   * Stops claiming, waits for the claim under way and the units running, and hands the units
   * claimed but never started back at once (not after their lease); idempotent.
   */
  async stop (): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
    // No round starts once stopped: after the one under way, the backlog is all there will be.
    await this.round
    await this.releaseBacklog()
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  /** Something may be due now: look without waiting for the timer. */
  wake (): void {
    if (!this.started) return
    if (this.round !== undefined) {
      this.again = true
      return
    }
    this.round = this.claimAndStart().finally(() => {
      this.round = undefined
      // A wake-up that came during the round (while the timer was being armed, say) must not wait for that timer.
      if (this.again) this.wake()
    })
  }

  private async claimAndStart (): Promise<void> {
    let failed = false
    try {
      do {
        this.again = false
        this.startFromBacklog()
        while (this.started && this.inFlight.size < this.o.concurrency && (this.o.mayClaim?.(this.inFlight.size) ?? true)) {
          const units = await this.o.claim(this.o.concurrency - this.inFlight.size)
          if (units.length === 0) break
          this.backlog.push(...units)
          this.startFromBacklog()
        }
      } while (this.again && this.started)
    } catch (err) {
      // The store is unreachable: try again after the idle poll, never spin.
      failed = true
      this.o.logger.error({ err, loop: this.o.name }, 'claiming due work failed; trying again after the idle poll')
    }
    await this.arm(failed)
  }

  /** Starts units from the backlog while slots are free; a unit held stays, in its place. */
  private startFromBacklog (): void {
    const held: U[] = []
    let i = 0
    for (; i < this.backlog.length && this.started && this.inFlight.size < this.o.concurrency; i++) {
      const unit = this.backlog[i]!
      const admitted = this.o.admit?.(unit) ?? 'go'
      if (admitted === 'go') this.launch(unit)
      else if (admitted === 'hold') held.push(unit)
    }
    this.backlog = held.concat(this.backlog.slice(i))
  }

  private launch (unit: U): void {
    const running: Promise<void> = this.o.run(unit)
      .catch((err) => this.o.logger.error({ err, loop: this.o.name }, 'a request failed unexpectedly; its rows come back after their lease'))
      .finally(() => {
        this.inFlight.delete(running)
        this.wake()
      })
    this.inFlight.add(running)
  }

  private async releaseBacklog (): Promise<void> {
    if (this.backlog.length === 0) return
    const units = this.backlog
    this.backlog = []
    try {
      await this.o.release(units)
    } catch (err) {
      this.o.logger.error({ err, loop: this.o.name }, 'handing back claimed work failed; it comes back after its lease')
    }
  }

  /** Sleeps until `nextWakeAt`; with every slot busy, the end of a unit wakes the loop instead. */
  private async arm (afterFailure: boolean): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.started) return
    if (!afterFailure && this.inFlight.size >= this.o.concurrency) {
      this.o.onSleep?.(null)
      return
    }
    let at: number | null = this.o.clock.now() + this.o.idlePollMs
    if (this.o.nextWakeAt !== undefined) {
      try {
        at = await this.o.nextWakeAt(afterFailure, this.inFlight.size)
      } catch {
        // Then the idle poll.
      }
    }
    if (!this.started) return
    this.o.onSleep?.(at)
    if (at === null) return
    // Clamped to setTimeout's range: a far `at` wakes early and re-arms, never overflows.
    this.timer = setBoundedTimeout(() => this.wake(), at - this.o.clock.now())
  }
}
