import { setMaxListeners } from 'node:events'
import { Agent } from 'undici'
import { signGatewaySignature } from '../lib/hmac-signature.js'
import { delay } from '../lib/timers.js'
import { sendWebhook, statusEnvelope, type AcceptedMessage, type WebhookTarget } from './gatewayapi-wire.js'

/** One status event to post: a status name, or a status with GatewayAPI's error object. */
export type AutoStatusStep = string | { status: string; error?: { hex_code: string; details: string } }

export interface AutoStatusOptions {
  /**
   * The status events of one accepted message, posted in this order (e.g. `['ENROUTE', 'DELIVERED']`);
   * null or an empty list posts nothing for it. Called once per message, when it is accepted.
   */
  pick(message: AcceptedMessage): AutoStatusStep | AutoStatusStep[] | null
  /** How long after acceptance a message's events start (default 0). */
  delayMs?: number
  /** Webhook requests in flight at most (default 8); one message's events go one after another. */
  concurrency?: number
  /** Tries per event before it is given up, as GatewayAPI retries a failed webhook (default 5). */
  maxAttempts?: number
  /** Wait before the first retry, doubling after each (default 100). */
  retryDelayMs?: number
  /** How long one webhook request may take before it counts as failed (default 5000, GatewayAPI's). */
  timeoutMs?: number
}

/** What the automatic status events did so far. */
export interface AutoStatusStats {
  /** Events waiting to be posted (their message's turn has not come yet, or under way). */
  pending: number
  /** Events answered 2xx. */
  posted: number
  /** Attempts that got a non-2xx answer or no answer, and were tried again. */
  retried: number
  /** Events given up after `maxAttempts`, or because no webhook was configured. */
  failed: number
  /** Requests in flight at most, over the simulator's life. */
  maxInFlight: number
}

/** 'status-posted' and 'status-failed' come with the event's envelope; 'status-idle' with nothing. */
export type StatusFeedEvent = 'status-posted' | 'status-failed' | 'status-idle'

interface StatusJob {
  message: AcceptedMessage
  steps: AutoStatusStep[]
  dueAt: number
}

/**
 * GatewayAPI's webhook side after a 202: posts signed status events for accepted messages,
 * with bounded concurrency and per-event retries, and reports what it did through `emit`.
 */
export class StatusFeed {
  /** Counters of the automatic status events (all zero until something is queued). */
  readonly stats: AutoStatusStats = { pending: 0, posted: 0, retried: 0, failed: 0, maxInFlight: 0 }
  private queue: StatusJob[] = []
  private head = 0
  private readonly workers = new Set<Promise<void>>()
  private inFlight = 0
  private readonly abort = new AbortController()
  private agent: Agent | undefined

  /**
   * `webhook` is asked before every attempt, so a target set after construction is used.
   * `built` sees every envelope once, before its first attempt: the simulator checks it against the contract.
   */
  constructor (
    private readonly webhook: () => WebhookTarget | undefined,
    private readonly emit: (event: StatusFeedEvent, ...args: unknown[]) => void,
    private readonly built: (envelope: Record<string, unknown>) => void = () => {}
  ) {
    // Every worker's wait and request listens to this one signal.
    setMaxListeners(0, this.abort.signal)
  }

  /** Stops the feed (events not yet posted are dropped), signals idle and closes its connections. */
  async close (): Promise<void> {
    this.abort.abort()
    this.queue = []
    this.head = 0
    await Promise.all([...this.workers])
    this.stats.pending = 0
    this.emit('status-idle')
    await this.agent?.close()
  }

  /** Schedules the status events `auto.pick` chose for these messages and starts workers up to the bound. */
  enqueue (messages: AcceptedMessage[], auto: AutoStatusOptions): void {
    if (this.abort.signal.aborted) return
    const dueAt = Date.now() + (auto.delayMs ?? 0)
    for (const message of messages) {
      const picked = auto.pick(message)
      const steps = picked === null ? [] : Array.isArray(picked) ? picked : [picked]
      if (steps.length === 0) continue
      this.queue.push({ message, steps, dueAt })
      this.stats.pending += steps.length
    }
    const concurrency = Math.max(1, auto.concurrency ?? 8)
    while (this.workers.size < concurrency && this.head < this.queue.length) {
      const worker: Promise<void> = this.work(auto).finally(() => { this.workers.delete(worker) })
      this.workers.add(worker)
    }
  }

  /** Takes messages in acceptance order (so in due order), waits for each one's time, posts its events in order. */
  private async work (auto: AutoStatusOptions): Promise<void> {
    const signal = this.abort.signal
    while (!signal.aborted && this.head < this.queue.length) {
      const job = this.queue[this.head++]!
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      const wait = job.dueAt - Date.now()
      if (wait > 0) {
        try {
          await delay(wait, signal)
        } catch {
          return
        }
      }
      for (const step of job.steps) {
        if (signal.aborted) return
        const ok = await this.post(job.message, step, auto)
        if (signal.aborted) return
        this.stats.pending--
        if (ok) this.stats.posted++
        else this.stats.failed++
        if (this.stats.pending === 0) this.emit('status-idle')
      }
    }
  }

  /** Posts one signed status event, retrying a non-2xx answer or a failed request with doubling waits. */
  private async post (message: AcceptedMessage, step: AutoStatusStep, auto: AutoStatusOptions): Promise<boolean> {
    const { status, error } = typeof step === 'string' ? { status: step, error: undefined } : step
    const signal = this.abort.signal
    // One event, one id and one body: a retry is the same event, so the receiver's replay memory applies.
    const envelope = statusEnvelope(message, status, error === undefined ? {} : { error })
    this.built(envelope)
    const raw = JSON.stringify(envelope)
    const maxAttempts = Math.max(1, auto.maxAttempts ?? 5)
    let retryDelay = auto.retryDelayMs ?? 100
    for (let attempt = 1; attempt <= maxAttempts && !signal.aborted; attempt++) {
      const webhook = this.webhook()
      if (webhook === undefined) return false
      this.agent ??= new Agent({ connections: Math.max(1, auto.concurrency ?? 8), keepAliveTimeout: 10_000 })
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, ++this.inFlight)
      let answered: number | undefined
      try {
        answered = (await sendWebhook(webhook.url, raw, signGatewaySignature(raw, webhook.secret), { dispatcher: this.agent, signal, timeoutMs: auto.timeoutMs ?? 5000 })).status
      } catch {
        answered = undefined
      } finally {
        this.inFlight--
      }
      if (answered !== undefined && answered >= 200 && answered < 300) {
        this.emit('status-posted', envelope)
        return true
      }
      if (attempt === maxAttempts || signal.aborted) break
      this.stats.retried++
      try {
        await delay(retryDelay, signal)
      } catch {
        break
      }
      retryDelay *= 2
    }
    this.emit('status-failed', envelope)
    return false
  }
}
