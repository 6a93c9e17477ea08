import type { FastifyInstance } from 'fastify'
import { routeErrorHandler, type RouteErrorOptions } from './route-error-handler.js'

/**
 * Makes an encapsulated route plugin take JSON only, as its raw bytes (both webhooks verify a
 * signature over the exact bytes before they parse them), up to its own body limit, with its
 * own error handler (a 413 naming that limit, a 415 for anything else).
 */
export function acceptRawJson (app: FastifyInstance, options: RouteErrorOptions): void {
  app.setErrorHandler(routeErrorHandler(options))
  // Only JSON: Fastify's built-in text/plain parser would otherwise let a text body through.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body))
}
