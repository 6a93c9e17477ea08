import type { Readable } from 'node:stream'

/** How a drain ended: the body's end was read, or it went past a bound, or the peer went away. */
export type DrainOutcome = 'ended' | 'too-long' | 'too-slow' | 'closed'

export interface DrainBounds {
  /** Bytes read and discarded at most. */
  maxBytes: number
  /** Milliseconds spent at most. */
  maxMs: number
}

/**
 * Reads and discards the rest of a request body, within bounds, so that the client
 * finishes writing and can read our answer. Works whether the stream is paused (nothing
 * read yet) or already flowing with no listener (a reader gave up mid-body).
 */
export function drainRequestBody (stream: Readable, bounds: DrainBounds): Promise<DrainOutcome> {
  if (stream.readableEnded) return Promise.resolve('ended')
  if (stream.destroyed) return Promise.resolve('closed')
  return new Promise((resolve) => {
    let read = 0
    const finish = (outcome: DrainOutcome): void => {
      clearTimeout(timer)
      stream.removeListener('data', onData)
      stream.removeListener('end', onEnd)
      stream.removeListener('error', onClosed)
      stream.removeListener('close', onClosed)
      stream.removeListener('aborted', onClosed)
      resolve(outcome)
    }
    const onData = (chunk: Buffer | string): void => {
      read += chunk.length
      if (read > bounds.maxBytes) {
        stream.pause()
        finish('too-long')
      }
    }
    const onEnd = (): void => finish('ended')
    const onClosed = (): void => finish('closed')
    const timer = setTimeout(() => {
      stream.pause()
      finish('too-slow')
    }, bounds.maxMs)
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onClosed)
    stream.once('close', onClosed)
    stream.once('aborted', onClosed)
    stream.resume()
  })
}
