import t from 'tap'
import { PassThrough } from 'node:stream'
import { drainRequestBody } from '../../src/http/drain-request-body.js'

const bounds = { maxBytes: 1000, maxMs: 60_000 }

t.test('a paused body (nothing read yet) is read to its end and discarded', async (t) => {
  const body = new PassThrough()
  const drained = drainRequestBody(body, bounds)
  body.write(Buffer.alloc(600))
  body.end(Buffer.alloc(400))
  t.equal(await drained, 'ended')
})

t.test('a body left flowing with no reader (a parser gave up mid-body) is read to its end', async (t) => {
  const body = new PassThrough()
  body.resume()
  body.write(Buffer.alloc(300))
  const drained = drainRequestBody(body, bounds)
  body.end(Buffer.alloc(300))
  t.equal(await drained, 'ended')
})

t.test('a body already read to its end needs nothing more', async (t) => {
  const body = new PassThrough()
  body.resume()
  body.end('x')
  await new Promise((resolve) => body.once('end', resolve))
  t.equal(await drainRequestBody(body, bounds), 'ended')
})

t.test('more than maxBytes: the drain stops and leaves the stream paused', async (t) => {
  const body = new PassThrough()
  const drained = drainRequestBody(body, bounds)
  body.write(Buffer.alloc(800))
  body.write(Buffer.alloc(800))
  t.equal(await drained, 'too-long')
  t.equal(body.isPaused(), true)
})

t.test('no end within maxMs: the drain gives up', async (t) => {
  const body = new PassThrough()
  body.write('a few bytes, then nothing')
  t.equal(await drainRequestBody(body, { maxBytes: 1000, maxMs: 20 }), 'too-slow')
})

t.test('the peer goes away mid-body: closed', async (t) => {
  const body = new PassThrough()
  const drained = drainRequestBody(body, bounds)
  body.write('part')
  body.destroy()
  t.equal(await drained, 'closed')
  t.equal(await drainRequestBody(body, bounds), 'closed', 'and a destroyed stream is closed at once')
})
