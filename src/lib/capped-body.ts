/** A response as undici gives it: the headers, and a body to stream. */
export interface StreamedResponse {
  headers: Record<string, string | string[] | undefined>
  body: AsyncIterable<Uint8Array> & { destroy(): unknown }
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
    response.body.destroy()
    throw new ResponseTooLargeError(limitBytes, declared)
  }
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for await (const chunk of response.body) {
      total += chunk.byteLength
      // Leaving the loop by a throw destroys the stream.
      if (total > limitBytes) throw new ResponseTooLargeError(limitBytes)
      chunks.push(chunk)
    }
  } finally {
    if (total > limitBytes) response.body.destroy()
  }
  return Buffer.concat(chunks, total)
}
