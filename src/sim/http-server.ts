import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTcpServer, type AddressInfo } from 'node:net'
import { delay } from '../lib/timers.js'

/** Reads a request body whole. */
export async function readBody (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/**
 * Answers `status` with a JSON body of `bytes` bytes, chunked and written only as fast as the
 * client reads it: a peer answering far more than anyone should hold. Resolves, once the
 * answer ended or the client cut it, with the bytes handed to the connection.
 */
export async function streamLargeBody (res: ServerResponse, status: number, bytes: number, headers: Record<string, string> = {}): Promise<number> {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  const head = Buffer.from('{"padding":"')
  const tail = Buffer.from('"}')
  const padding = Buffer.alloc(64 * 1024, 'x')
  const total = Math.max(bytes, head.length + tail.length)
  let closed = false
  res.once('close', () => { closed = true })
  let written = 0
  const send = async (chunk: Buffer): Promise<void> => {
    written += chunk.length
    if (!res.write(chunk) && !closed) await drainedOrClosed(res)
  }
  await send(head)
  while (!closed && written < total - tail.length) await send(padding.subarray(0, Math.min(padding.length, total - tail.length - written)))
  if (!closed) {
    written += tail.length
    res.end(tail)
  }
  return written
}

/**
 * Answers `status` with its headers at once, then the JSON `body` one byte every `everyMs`:
 * a peer slow enough to hold any client that bounds only each wait between bytes. Stops when
 * the client goes; resolves with the body bytes sent.
 */
export async function trickleBody (res: ServerResponse, status: number, body: unknown, everyMs: number, headers: Record<string, string> = {}): Promise<number> {
  const text = Buffer.from(body === undefined ? '' : JSON.stringify(body))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': text.length, ...headers })
  res.flushHeaders()
  const gone = new AbortController()
  res.once('close', () => gone.abort())
  let sent = 0
  try {
    while (sent < text.length && !gone.signal.aborted) {
      await delay(everyMs, gone.signal)
      res.write(text.subarray(sent, sent + 1))
      sent++
    }
  } catch {
    // The client went away: nothing more to send.
  }
  if (!gone.signal.aborted) res.end()
  return sent
}

function drainedOrClosed (res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

/** Starts a plain HTTP server on 127.0.0.1 (port 0 = any free port) and returns its base URL. */
export async function listenOnLoopback (
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port = 0
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { message: 'simulator error', error: err.message })
      else res.destroy()
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const { port: bound } = server.address() as AddressInfo
  return {
    server,
    url: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago: for a service that must know its URL before it listens. */
export async function freeLoopbackPort (): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
