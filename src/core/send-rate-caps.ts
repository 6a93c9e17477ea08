/**
 * Per-registration send rates (a registration's `maxMessagesPerSecond`): a token bucket each,
 * one second's worth deep (at least one message) and full at the start, filled continuously. A
 * claim takes at most what its registration's bucket holds, and a registration with less than one
 * message in its bucket is held back until it has one again; registrations without a rate are
 * never held. Kept in memory: after a restart a bucket starts full, so a rate holds per process.
 */
export class SendRateCaps {
  private readonly buckets = new Map<string, { rate: number; depth: number; tokens: number; at: number }>()

  constructor (registrations: ReadonlyArray<{ id: string; maxMessagesPerSecond?: number }>, now: number) {
    for (const r of registrations) {
      if (r.maxMessagesPerSecond === undefined) continue
      const depth = Math.max(1, r.maxMessagesPerSecond)
      this.buckets.set(r.id, { rate: r.maxMessagesPerSecond, depth, tokens: depth, at: now })
    }
  }

  /** Each rated registration's allowance now, in whole messages (0: held back); undefined when none has a rate. */
  caps (now: number): Record<string, number> | undefined {
    if (this.buckets.size === 0) return undefined
    const caps: Record<string, number> = {}
    for (const [id, bucket] of this.buckets) caps[id] = Math.floor(this.fill(bucket, now))
    return caps
  }

  /** The registrations held back now: less than one message in their bucket. */
  held (now: number): string[] {
    return [...this.buckets].filter(([, bucket]) => this.fill(bucket, now) < 1).map(([id]) => id)
  }

  /** Counts `n` messages claimed for a registration against its rate. */
  take (registrationId: string, n: number, now: number): void {
    const bucket = this.buckets.get(registrationId)
    if (bucket === undefined) return
    bucket.tokens = this.fill(bucket, now) - n
  }

  /** When the first registration held back has one message in its bucket again; undefined when none is held. */
  nextRefillAt (now: number): number | undefined {
    let first: number | undefined
    for (const bucket of this.buckets.values()) {
      const tokens = this.fill(bucket, now)
      if (tokens >= 1) continue
      const at = now + Math.ceil(((1 - tokens) / bucket.rate) * 1000)
      first = first === undefined ? at : Math.min(first, at)
    }
    return first
  }

  /** The bucket's content at `now` (never above its depth), remembered from then on. */
  private fill (bucket: { rate: number; depth: number; tokens: number; at: number }, now: number): number {
    if (now > bucket.at) {
      bucket.tokens = Math.min(bucket.depth, bucket.tokens + ((now - bucket.at) / 1000) * bucket.rate)
      bucket.at = now
    }
    return bucket.tokens
  }
}
