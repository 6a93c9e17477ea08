import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from '../errors.js'
import { drainRequestBody } from './drain-request-body.js'

/** Longest we keep reading a refused body before we hang up. */
export const DRAIN_MAX_MS = 10_000

export interface PayloadTooLargeOptions {
  /** The route's body limit, named in the answer. */
  limit: number
  /** Longest drain, in milliseconds (DRAIN_MAX_MS unless given). */
  drainMaxMs?: number
}

/**
 * Answers 413 in a way every client can read. Fastify refuses a body over the limit either
 * before reading it (a Content-Length over the limit: the stream is left paused) or mid-stream
 * (chunked: it has read just over the limit and left the stream flowing with no reader).
 * Answering at once and closing makes a client that writes its whole body before reading
 * (Python's urllib, many HTTP libraries) fail with a broken pipe instead of seeing the 413.
 * So the rest of the body is read and discarded first, up to twice the limit in all or
 * `drainMaxMs`; past that bound the connection is dropped. A declared length beyond the
 * bound is answered at once (reading it would not end within the bound anyway).
 * The answer always carries `Connection: close`.
 */
export async function replyPayloadTooLarge (request: FastifyRequest, reply: FastifyReply, options: PayloadTooLargeOptions): Promise<FastifyReply> {
  const { limit } = options
  const bound = 2 * limit
  const answer = (): FastifyReply => {
    reply.header('connection', 'close')
    return sendError(reply, 'payloadTooLarge', `the body is larger than the limit of ${limit} bytes`)
  }
  const declared = Number(request.headers['content-length'])
  const refusedOnLength = Number.isFinite(declared) && declared > limit
  if (refusedOnLength && declared > bound) return answer()
  // Refused on its Content-Length, nothing was read yet; refused mid-stream, just over `limit` was.
  const outcome = await drainRequestBody(request.raw, {
    maxBytes: refusedOnLength ? declared : bound - limit,
    maxMs: options.drainMaxMs ?? DRAIN_MAX_MS
  })
  if (outcome === 'ended') return answer()
  request.log.info({ outcome, limit }, 'oversized body not read to its end; connection closed')
  reply.hijack()
  request.raw.socket?.destroy()
  return reply
}
