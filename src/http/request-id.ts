import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** What an `X-Request-Id` we take as given may be: up to 128 letters, digits and `-_.:`. */
const USABLE_ID = /^[\w.:-]{1,128}$/

/**
 * A request's id: the caller's `X-Request-Id` when it is a usable one (so that a proxy's or a
 * peer's id can be followed into our logs), otherwise a new UUID (a hostile or huge header
 * never reaches a log line).
 */
export function requestIdOf (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && USABLE_ID.test(given) ? given : randomUUID()
}
