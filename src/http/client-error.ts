import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

export interface ClientErrorLimits {
  requestTimeoutMs: number
  headersTimeoutMs: number
}

/**
 * Answers what Node refuses before any route sees it (a request too slow to arrive,
 * oversized headers, malformed HTTP) in our `{message, code}` shape, naming the limit,
 * then closes the connection.
 */
export function clientErrorHandler (limits: ClientErrorLimits): (this: FastifyInstance, error: Error & { code?: string }, socket: Socket) => void {
  return function (error, socket) {
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    let answer: { status: string; message: string; code: string }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = {
        status: '408 Request Timeout',
        message: `the request did not arrive in time (headers within ${limits.headersTimeoutMs} ms, the whole request within ${limits.requestTimeoutMs} ms)`,
        code: 'REQUEST_TIMEOUT'
      }
    } else if (error.code === 'HPE_HEADER_OVERFLOW') {
      answer = { status: '431 Request Header Fields Too Large', message: 'the request headers are too large', code: 'HEADERS_TOO_LARGE' }
    } else {
      answer = { status: '400 Bad Request', message: 'malformed HTTP request', code: 'BAD_REQUEST' }
    }
    this.log.debug({ err: error }, 'client error')
    if (socket.writable) {
      const body = JSON.stringify({ message: answer.message, code: answer.code })
      socket.write(`HTTP/1.1 ${answer.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroy()
  }
}
