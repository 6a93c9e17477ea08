import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import { PeriodicJob } from './periodic-job.js'
import type { ReplicaStore } from './store/store.js'

export interface InstanceHeartbeatOptions {
  store: ReplicaStore
  clock: Clock
  logger: Logger
  /** How often this process says it is alive. */
  intervalMs: number
  /** A replica silent this long is dead: the others take over its claims at once. */
  deadAfterMs: number
  /** Told when claims were taken over: they are due now. */
  onTakenOver?: () => void
}

/**
 * Replicas that know each other: every `intervalMs` this process records that it is alive, and
 * takes over the claims of replicas whose last heartbeat is older than `deadAfterMs` (they died
 * without handing them back: a SIGKILL, a lost host), so that their messages and reports go out
 * now instead of when their leases end. A graceful stop forgets this instance (its claims were
 * handed back by the loops' own stop). start/stop are idempotent; the first beat is at start.
 */
export class InstanceHeartbeat {
  private readonly job: PeriodicJob<void>
  private started = false
  /** When this instance's last beat was recorded. */
  private lastBeatAt: number | undefined

  constructor (private readonly o: InstanceHeartbeatOptions) {
    this.job = new PeriodicJob(() => this.beat(), o.intervalMs)
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.job.start()
    void this.job.runOnce()
  }

  /** Stops beating and retires this instance. */
  async stop (): Promise<void> {
    this.started = false
    await this.job.stop()
    try {
      await this.o.store.retireInstance()
    } catch (err) {
      this.o.logger.warn({ err }, 'could not retire this instance; the others will forget it once its heartbeat is old enough')
    }
  }

  /** One beat now (the one under way when there is one). */
  runOnce (): Promise<void> {
    return this.job.runOnce()
  }

  private async beat (): Promise<void> {
    try {
      const now = this.o.clock.now()
      // After a gap in our own beats (the database was out of reach for us too), the others'
      // silence proves nothing yet: this beat only says that we are back.
      const judging = this.lastBeatAt !== undefined && now - this.lastBeatAt <= this.o.deadAfterMs
      const taken = await this.o.store.heartbeat(now, judging ? now - this.o.deadAfterMs : Number.MIN_SAFE_INTEGER)
      this.lastBeatAt = now
      for (const dead of taken) {
        this.o.logger.warn({ deadInstance: dead.instanceId, lastHeartbeatAt: new Date(dead.lastHeartbeatAt).toISOString(), claims: dead.claims }, 'a replica stopped beating without handing back its claims; they are due again now')
      }
      if (taken.some((dead) => dead.claims > 0)) this.o.onTakenOver?.()
    } catch (err) {
      this.o.logger.error({ err }, 'heartbeat failed; it is tried again at the next interval')
    }
  }
}
