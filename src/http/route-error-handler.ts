import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ERROR_CODES, sendError } from '../errors.js'
import { replyPayloadTooLarge } from './payload-too-large.js'

export interface RouteErrorOptions {
  /** The route's body limit, named in its 413. */
  bodyLimit: number
  /** What the route accepts, named in its 415. */
  mediaType?: string
  /** Told of each body refused as too large (e.g. to count it). */
  onPayloadTooLarge?: () => void
  /** Longest drain of a refused body, in milliseconds (see replyPayloadTooLarge). */
  drainMaxMs?: number
}

export type RouteErrorHandler = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>

/**
 * An error handler for one route plugin, so that each route names its own limits: a body
 * over the limit is a readable 413, an unparsable media type a 415, any other client error
 * a 4xx `{message, code}`, and only our own failures a logged 500.
 */
export function routeErrorHandler (options: RouteErrorOptions): RouteErrorHandler {
  const mediaType = options.mediaType ?? 'application/json'
  return async (error, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      options.onPayloadTooLarge?.()
      return replyPayloadTooLarge(request, reply, {
        limit: options.bodyLimit,
        ...(options.drainMaxMs === undefined ? {} : { drainMaxMs: options.drainMaxMs })
      })
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 'unsupportedMediaType', `the body must be ${mediaType}`)
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) return reply.code(status).send({ message: error.message, code: error.code ?? ERROR_CODES.badRequest.code })
    request.log.error({ err: error }, 'request failed')
    return sendError(reply, 'internal', 'internal error')
  }
}
