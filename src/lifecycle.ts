/** One part of the service that has something to do when the service starts or stops. */
export interface LifecyclePart {
  name: string
  start?: () => void | Promise<void>
  stop?: () => void | Promise<void>
}

/**
 * The service's parts in the order they start; they stop in the reverse order, each once, and
 * only those that started. A stop that fails does not keep the others from stopping: the first
 * error is thrown once all have been tried. A start that fails stops what had started.
 */
export class Lifecycle {
  private readonly parts: LifecyclePart[] = []
  private readonly started: LifecyclePart[] = []
  private stopping: Promise<void> | undefined

  add (part: LifecyclePart): this {
    this.parts.push(part)
    return this
  }

  async start (): Promise<void> {
    if (this.stopping !== undefined) throw new Error('the service was stopped; it does not start again')
    for (const part of this.parts.slice(this.started.length)) {
      try {
        await part.start?.()
      } catch (err) {
        await this.stop().catch(() => undefined)
        throw err
      }
      this.started.push(part)
    }
  }

  /** Idempotent: a second call waits for the first. */
  stop (): Promise<void> {
    this.stopping ??= (async () => {
      let failure: { err: unknown } | undefined
      for (const part of this.started.reverse()) {
        try {
          await part.stop?.()
        } catch (err) {
          failure ??= { err }
        }
      }
      this.started.length = 0
      if (failure !== undefined) throw failure.err
    })()
    return this.stopping
  }
}
