import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { PeriodicJob } from './periodic-job.js'
import type { MaintenanceStore } from './store/store.js'

export interface FinalStatusSweeperOptions {
  store: MaintenanceStore
  clock: Clock
  logger: Logger
  /** How long each registration's messages may wait for a final status after sending (GatewayAPI's `expiration`). */
  expirations: ReadonlyArray<{ registrationId: string; expirationMs: number }>
  /** Added to the expiration: GatewayAPI may report an expiry a little late. */
  graceMs: number
  intervalMs: number
  /** Asked before each pass: false skips it (another replica runs this job; see jobLease). */
  mayRun?: () => Promise<boolean>
}

/** GatewayAPI's longest expiration (`P5D`): the wait for messages of registrations no longer configured. */
const LONGEST_EXPIRATION_MS = 5 * 86_400_000

/**
 * No message waits forever for its final status: every `intervalMs`, messages sent longer ago
 * than their registration's expiration plus a grace period, and still without a final status,
 * are ended and reported (`Undelivered/NoFinalStatus`). start/stop are idempotent.
 */
export class FinalStatusSweeper {
  private readonly job: PeriodicJob<number>

  constructor (private readonly o: FinalStatusSweeperOptions) {
    this.job = new PeriodicJob(() => this.pass(), o.intervalMs)
  }

  start (): void {
    this.job.start()
  }

  stop (): Promise<void> {
    return this.job.stop()
  }

  /** One pass; a pass already under way is awaited rather than doubled. Resolves with the messages ended. */
  runOnce (): Promise<number> {
    return this.job.runOnce()
  }

  private async pass (): Promise<number> {
    try {
      if (this.o.mayRun !== undefined && !(await this.o.mayRun())) return 0
      const now = this.o.clock.now()
      const cutoffs = this.o.expirations.map((e) => ({ registrationId: e.registrationId, submittedBefore: now - e.expirationMs - this.o.graceMs }))
      const ended = await this.o.store.endUnconfirmed(cutoffs, now - LONGEST_EXPIRATION_MS - this.o.graceMs, now)
      if (ended > 0) {
        this.o.logger.warn({ ended }, 'messages without a final status past their expiration were ended and reported as NoFinalStatus')
      }
      return ended
    } catch (err) {
      this.o.logger.error({ err }, 'the final-status sweep failed; it will run again at the next interval')
      return 0
    }
  }
}
