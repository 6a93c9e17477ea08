import type { Readable } from 'node:stream'

/** A response as undici gives it: the headers, and a body to stream. */
export interface StreamedResponse {
  headers: Record<string, string | string[] | undefined>
  body: Readable
}

/** A peer answered with more bytes than we agreed to hold in memory; the connection was cut. */
export class ResponseTooLargeError extends Error {
  override name = 'ResponseTooLargeError'
  readonly code = 'RESPONSE_TOO_LARGE'
  constructor (readonly limitBytes: number, readonly declaredBytes?: number) {
    super(declaredBytes === undefined
      ? `response body over the ${limitBytes}-byte cap; reading stopped there`
      : `response body of ${declaredBytes} bytes (Content-Length) over the ${limitBytes}-byte cap; not read`)
  }
}

/**
 * Reads a response body whole, up to `limitBytes`, so that no peer can make us buffer an
 * unbounded answer: past the cap (or when Content-Length already says so) the body is
 * destroyed, which closes its connection, and ResponseTooLargeError is thrown.
 */
export async function readCappedBody (response: StreamedResponse, limitBytes: number): Promise<Buffer> {
  const header = response.headers['content-length']
  const declared = Number(Array.isArray(header) ? header[0] : header)
  if (header !== undefined && Number.isSafeInteger(declared) && declared > limitBytes) {
    response.body.on('error', ignore)
    response.body.destroy()
    throw new ResponseTooLargeError(limitBytes, declared)
  }
  // Plain 'data' events: an async iterator costs a promise per chunk, on every report we send.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const body = response.body
    const done = (err?: Error): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', done)
      body.off('close', onClose)
      if (err !== undefined) reject(err)
      else resolve(Buffer.concat(chunks, total))
    }
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength
      if (total > limitBytes) {
        // Destroying it makes undici emit an abort error; nobody needs to hear it.
        body.on('error', ignore)
        body.destroy()
        done(new ResponseTooLargeError(limitBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => done()
    // Closed without an end: aborted (our deadline) or cut by the peer.
    const onClose = (): void => done(body.errored ?? new Error('the response body was closed before its end'))
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', done)
    body.once('close', onClose)
  })
}

const ignore = (): void => {}
