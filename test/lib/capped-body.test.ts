import type { IncomingMessage, ServerResponse } from 'node:http'
import { EventEmitter, once } from 'node:events'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { readCappedBody, ResponseTooLargeError } from '../../src/lib/capped-body.js'
import { listenOnLoopback, sendJson, streamLargeBody } from '../../src/sim/http-server.js'

// readCappedBody against a real loopback server: what it returns under the cap, and that past
// the cap it stops reading and cuts the connection instead of buffering the whole answer.

const MiB = 1024 * 1024

/** A loopback server answering every request with `answer`; emits 'answered' (bytes written) when an answer ended or was cut. */
async function serve (t: Test, answer: (res: ServerResponse) => Promise<number>) {
  const events = new EventEmitter()
  const server = await listenOnLoopback(async (req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    events.emit('answered', await answer(res))
  })
  t.teardown(() => server.close())
  return { url: server.url, events }
}

t.test('a body under the cap (or exactly at it) is returned whole', async (t) => {
  const body = { message: 'Delivery report received', padding: 'x'.repeat(1000) }
  const exact = Buffer.byteLength(JSON.stringify(body))
  const { url } = await serve(t, async (res) => {
    sendJson(res, 200, body)
    return exact
  })
  const under = await readCappedBody(await request(url), exact + 1)
  t.same(JSON.parse(under.toString('utf8')), body)
  const atCap = await readCappedBody(await request(url), exact)
  t.equal(atCap.length, exact, 'a body of exactly the cap is not too large')
})

t.test('an empty body is an empty buffer', async (t) => {
  const { url } = await serve(t, async (res) => {
    res.writeHead(204)
    res.end()
    return 0
  })
  t.equal((await readCappedBody(await request(url), 10)).length, 0)
})

t.test('a 100 MB streamed body is cut at the cap: typed error, connection closed, little of it ever sent', async (t) => {
  const { url, events } = await serve(t, (res) => streamLargeBody(res, 200, 100 * MiB))
  const answered = once(events, 'answered')
  const rssBefore = process.memoryUsage().rss
  const err = await readCappedBody(await request(url), 64 * 1024).catch((e: unknown) => e)
  t.type(err, ResponseTooLargeError)
  t.equal((err as ResponseTooLargeError).code, 'RESPONSE_TOO_LARGE', 'a stable code callers can match')
  t.equal((err as ResponseTooLargeError).limitBytes, 64 * 1024)
  // The server's write loop ends only when the client cut the connection (or all was sent).
  const [written] = await answered as [number]
  t.ok(written < 16 * MiB, `the server could write only ${written} bytes before the client cut it (far below 100 MB)`)
  t.ok(process.memoryUsage().rss - rssBefore < 64 * MiB, 'memory did not grow by the answer\'s size')
})

t.test('a Content-Length over the cap is refused before reading a byte', async (t) => {
  const { url } = await serve(t, async (res) => {
    res.writeHead(200, { 'content-length': String(10 * MiB) })
    res.write(Buffer.alloc(1024))
    // Never ends: only the client's refusal ends this exchange.
    return 1024
  })
  const res = await request(url)
  const err = await readCappedBody(res, MiB).catch((e: unknown) => e)
  t.type(err, ResponseTooLargeError)
  t.equal((err as ResponseTooLargeError).declaredBytes, 10 * MiB)
  t.match((err as Error).message, /10485760 bytes \(Content-Length\) over the 1048576-byte cap/)
  t.ok(res.body.destroyed, 'the body stream was destroyed, closing the connection')
})
