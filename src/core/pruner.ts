import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { PeriodicJob } from './periodic-job.js'
import type { MaintenanceStore } from './store/store.js'

export interface PrunerOptions {
  store: MaintenanceStore
  clock: Clock
  logger: Logger
  /** Rows older than this (and no longer needed) are deleted. */
  retentionMs: number
  /** How often to prune; the first run comes one interval after start. */
  intervalMs: number
  /** How long the number→registration memory is kept (default: `retentionMs`). */
  recipientMemoryMs?: number
  /** Asked before each pass: false skips it (another replica runs this job; see jobLease). */
  mayRun?: () => Promise<boolean>
}

/** Keeps the database from growing without bound: a periodic `store.prune`. start/stop are idempotent. */
export class Pruner {
  private readonly job: PeriodicJob<void>

  constructor (private readonly o: PrunerOptions) {
    this.job = new PeriodicJob(() => this.pass(), o.intervalMs)
  }

  start (): void {
    this.job.start()
  }

  stop (): Promise<void> {
    return this.job.stop()
  }

  /** One pass; a pass already under way is awaited rather than doubled. */
  runOnce (): Promise<void> {
    return this.job.runOnce()
  }

  private async pass (): Promise<void> {
    try {
      if (this.o.mayRun !== undefined && !(await this.o.mayRun())) return
      const now = this.o.clock.now()
      const deleted = await this.o.store.prune(now - this.o.retentionMs, now - (this.o.recipientMemoryMs ?? this.o.retentionMs))
      if (Object.values(deleted).some((n) => n > 0)) this.o.logger.info({ deleted }, 'pruned rows past their retention')
    } catch (err) {
      this.o.logger.error({ err }, 'pruning failed; it will be tried again at the next interval')
    }
  }
}
