import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { timerDelay } from '../lib/timers.js'
import type { Store } from './store/store.js'

export interface PrunerOptions {
  store: Store
  clock: Clock
  logger: Logger
  /** Rows older than this (and no longer needed) are deleted. */
  retentionMs: number
  /** How often to prune; the first run comes one interval after start. */
  intervalMs: number
  /** How long the number→registration memory is kept (default: `retentionMs`). */
  recipientMemoryMs?: number
}

/** Keeps the database from growing without bound: a periodic `store.prune`. start/stop are idempotent. */
export class Pruner {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor (private readonly o: PrunerOptions) {}

  start (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { void this.runOnce() }, timerDelay(this.o.intervalMs))
    // Pruning alone never keeps the process alive.
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** One pass; a pass already under way is awaited rather than doubled. */
  async runOnce (): Promise<void> {
    this.running ??= (async () => {
      try {
        const now = this.o.clock.now()
        const deleted = await this.o.store.prune(now - this.o.retentionMs, now - (this.o.recipientMemoryMs ?? this.o.retentionMs))
        if (Object.values(deleted).some((n) => n > 0)) this.o.logger.info({ deleted }, 'pruned rows past their retention')
      } catch (err) {
        this.o.logger.error({ err }, 'pruning failed; it will be tried again at the next interval')
      } finally {
        this.running = undefined
      }
    })()
    await this.running
  }
}
