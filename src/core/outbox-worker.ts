import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { fullJitterDelay, type BackoffPolicy } from '../lib/backoff.js'
import type { Clock } from '../lib/clock.js'
import type { OutboxName, OutboxSettlement, Store } from './store/store.js'

/** What one delivery attempt to the peer came to. */
export type DeliveryResult =
  | { kind: 'done' }
  /** 5xx, 429 or a network error: try again later, for as long as it takes. */
  | { kind: 'retry'; reason: string }
  /** A 4xx other than 429: the peer will never take it as it is; keep it aside, counted and logged. */
  | { kind: 'park'; reason: string }

export interface OutboxItem {
  id: string
  registrationId: string
  attempts: number
}

export interface OutboxWorkerOptions<T extends OutboxItem> {
  outbox: OutboxName
  store: Store
  clock: Clock
  logger: Logger
  claim: (now: number, limit: number, leaseMs: number) => Promise<T[]>
  /** Sends one request's worth of items; must not throw for a peer's answer. */
  deliver: (items: T[]) => Promise<DeliveryResult>
  /** Items per request: 1 sends each alone; more groups items of one registration. */
  perRequest: number
  /** Requests in flight at most. */
  concurrency: number
  /** Items claimed at once. */
  claimSize: number
  leaseMs: number
  backoff: BackoffPolicy
  idlePollMs: number
  random?: () => number
}

/**
 * Drains a durable outbox to a peer: claims due rows with a lease, sends them with bounded
 * concurrency, and settles each as done, retried with full-jitter backoff (never given up),
 * or parked. Wakes on `wake()` and on a timer.
 */
export class OutboxWorker<T extends OutboxItem> extends EventEmitter<{ settled: [settlement: OutboxSettlement] }> {
  private running = false
  private loop: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private wakeUp: (() => void) | undefined
  private woken = false

  constructor (private readonly o: OutboxWorkerOptions<T>) {
    super()
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Stops claiming and waits for the requests in flight to be settled; idempotent. */
  async stop (): Promise<void> {
    this.running = false
    this.wake()
    await this.loop
  }

  wake (): void {
    this.woken = true
    clearTimeout(this.timer)
    this.wakeUp?.()
  }

  private async run (): Promise<void> {
    while (this.running) {
      this.woken = false
      let claimed: T[] = []
      try {
        claimed = await this.o.claim(this.o.clock.now(), this.o.claimSize, this.o.leaseMs)
        if (claimed.length > 0) await this.drain(claimed)
      } catch (err) {
        this.o.logger.error({ err, outbox: this.o.outbox }, 'outbox round failed; its leases will expire and the rows will be retried')
      }
      if (claimed.length < this.o.claimSize && this.running && !this.woken) await this.sleep(this.o.idlePollMs)
    }
  }

  private sleep (ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve
      this.timer = setTimeout(resolve, ms)
    }).then(() => {
      this.wakeUp = undefined
    })
  }

  private async drain (claimed: T[]): Promise<void> {
    const requests = this.group(claimed)
    const results = new Array<DeliveryResult>(requests.length)
    let next = 0
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, requests.length) }, async () => {
      while (next < requests.length) {
        const i = next++
        results[i] = await this.o.deliver(requests[i]!).catch((err: Error) => ({ kind: 'retry' as const, reason: err.message }))
      }
    }))

    const now = this.o.clock.now()
    const random = this.o.random ?? Math.random
    const done: string[] = []
    // Rows that failed alike are settled (and logged) together: one line per round, not per row.
    const failed = new Map<string, OutboxSettlement & { kind: 'retry' | 'park' }>()
    requests.forEach((items, i) => {
      const result = results[i]!
      if (result.kind === 'done') {
        done.push(...items.map((item) => item.id))
        return
      }
      const key = `${result.kind}:${result.reason}`
      const group = failed.get(key) ?? { kind: result.kind, error: result.reason }
      failed.set(key, group)
      if (result.kind === 'park') (group.parked ??= []).push(...items.map((item) => item.id))
      else (group.retry ??= []).push(...items.map((item) => ({ id: item.id, at: now + fullJitterDelay(this.o.backoff, item.attempts - 1, random) })))
    })
    const settlements: OutboxSettlement[] = [{ done }]
    for (const { kind, ...settlement } of failed.values()) {
      const rows = (settlement.parked ?? settlement.retry ?? []).length
      if (kind === 'park') this.o.logger.error({ outbox: this.o.outbox, reason: settlement.error, rows }, 'peer refused rows for good; parked')
      else this.o.logger.warn({ outbox: this.o.outbox, reason: settlement.error, rows }, 'delivery failed; retrying with backoff')
      settlements.push(settlement)
    }
    for (const settlement of settlements) {
      await this.o.store.settleOutbox(this.o.outbox, settlement, now)
      this.emit('settled', settlement)
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
