/** What one request's answer says about the provider's load. */
export type LoadSignal = 'fast' | 'slow' | 'overloaded' | 'neutral'

export interface AdaptiveConcurrencyOptions {
  /** The most requests in flight ever allowed (`SEND_CONCURRENCY`); the limit starts here. */
  max: number
  /** The fewest (default 1). */
  min?: number
  /** The limit after an overload, as a share of what it was (default 0.5). */
  decrease?: number
}

/**
 * How many requests to keep in flight, adapted to the provider's answers as TCP adapts its
 * window (additive increase, multiplicative decrease): each `limit` fast answers in a row raise
 * the limit by one, up to `max`; an overload (asked to slow down, a server error, a timeout, an
 * answer slower than the target) cuts it to `decrease` of itself, down to `min`. The requests of
 * one burst answer together: only an answer to a request sent after the last cut cuts again, so
 * a burst of refusals halves the limit once, not once per request.
 */
export class AdaptiveConcurrency {
  private current: number
  private fastInARow = 0
  private lastCutAt = Number.NEGATIVE_INFINITY
  private readonly min: number
  private readonly decrease: number

  constructor (private readonly o: AdaptiveConcurrencyOptions) {
    this.min = Math.min(o.min ?? 1, o.max)
    this.decrease = o.decrease ?? 0.5
    this.current = o.max
  }

  /** Requests that may be in flight now. */
  get limit (): number {
    return this.current
  }

  /** The answer to a request sent at `sentAt` (the clock of `now`), seen at `now`. */
  observe (signal: LoadSignal, sentAt: number, now: number): void {
    if (signal === 'neutral') return
    if (signal === 'fast') {
      if (++this.fastInARow < this.current) return
      this.fastInARow = 0
      this.current = Math.min(this.o.max, this.current + 1)
      return
    }
    this.fastInARow = 0
    if (sentAt <= this.lastCutAt) return
    this.lastCutAt = now
    this.current = Math.max(this.min, Math.floor(this.current * this.decrease))
  }
}
