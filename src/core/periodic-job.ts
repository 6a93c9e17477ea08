import { timerDelay } from '../lib/timers.js'

/**
 * A job run every `intervalMs` (pruning, the final-status sweep): start/stop are idempotent,
 * a pass already under way is awaited rather than doubled, stop() waits for it, and the timer
 * never keeps the process alive. `pass` must not throw; it reports its own failures.
 */
export class PeriodicJob<R> {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<R> | undefined

  constructor (private readonly pass: () => Promise<R>, private readonly intervalMs: number) {}

  start (): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { void this.runOnce() }, timerDelay(this.intervalMs))
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** One pass now; the one under way when there is one. */
  runOnce (): Promise<R> {
    // Cleared in a later microtask, after the assignment, however fast the pass is.
    this.running ??= this.pass().finally(() => { this.running = undefined })
    return this.running
  }
}
