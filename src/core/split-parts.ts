/**
 * The parts of split requests that went back to the queue unsent (message id → part): when
 * claimed again, each part is sent on its own, so that a split goes on where it stopped
 * instead of starting over with the whole request (which could go on forever when every
 * claim's lease runs short after a few requests). Bounded: past `max` messages the memory is
 * dropped, and only a split starts over.
 */
export class SplitParts<M extends { id: string }> {
  private readonly parts = new Map<string, number>()
  private lastPart = 0

  constructor (private readonly max: number) {}

  /** Messages remembered now. */
  get size (): number {
    return this.parts.size
  }

  remember (parts: ReadonlyArray<readonly M[]>): void {
    if (this.parts.size > this.max) this.parts.clear()
    for (const part of parts) {
      const id = ++this.lastPart
      for (const m of part) this.parts.set(m.id, id)
    }
  }

  /** A claim's messages as the requests to send: the parts remembered each on its own (and forgotten), the others together. */
  requestsOf (messages: M[]): M[][] {
    const groups = new Map<number | undefined, M[]>()
    for (const m of messages) {
      const part = this.parts.get(m.id)
      this.parts.delete(m.id)
      const group = groups.get(part)
      if (group === undefined) groups.set(part, [m])
      else group.push(m)
    }
    return [...groups.values()]
  }
}
