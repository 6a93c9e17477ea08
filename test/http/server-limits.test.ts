import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { listenTestApp, testConfig } from '../helper.js'

/** A raw client socket that collects what the server sends, for requests no HTTP client would send. */
function rawClient (port: number, t: Test): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { received += chunk })
  socket.on('error', () => {})
  const closed = once(socket, 'close').then(() => {})
  return { socket, received: () => received, closed }
}

async function until (socket: Socket, check: () => boolean): Promise<void> {
  while (!check()) await once(socket, 'data')
}

const timeoutAnswer = (headersMs: number, requestMs: number): string =>
  `{"message":"the request did not arrive in time (headers within ${headersMs} ms, the whole request within ${requestMs} ms)","code":"REQUEST_TIMEOUT"}`

t.test('headers that never complete are answered 408 after HTTP_HEADERS_TIMEOUT_MS and the connection closed', async (t) => {
  const config = testConfig({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '5000' })
  const { port } = await listenTestApp(t, { config })
  const client = rawClient(port, t)
  const started = Date.now()
  client.socket.write(`POST ${GATEWAYAPI_EVENTS_PATH} HTTP/1.1\r\nHost: x\r\n`)
  await client.closed
  const elapsed = Date.now() - started
  t.match(client.received(), /^HTTP\/1\.1 408 /)
  t.ok(client.received().endsWith(timeoutAnswer(500, 5000)), client.received())
  t.ok(elapsed >= 500 && elapsed < 4000, `closed after ${elapsed} ms, well before the request timeout`)
})

t.test('a body that trickles in is cut off after HTTP_REQUEST_TIMEOUT_MS with a 408', async (t) => {
  const config = testConfig({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1500' })
  const { port } = await listenTestApp(t, { config })
  const client = rawClient(port, t)
  const started = Date.now()
  client.socket.write(`POST ${GATEWAYAPI_EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nSignature: v1=${'0'.repeat(64)}\r\nContent-Length: 1000\r\n\r\n{"event_id":`)
  // One byte every 100 ms: never idle long enough for an idle timeout, never done.
  const trickle = setInterval(() => { if (client.socket.writable) client.socket.write(' ') }, 100)
  t.teardown(() => clearInterval(trickle))
  await client.closed
  clearInterval(trickle)
  const elapsed = Date.now() - started
  t.match(client.received(), /^HTTP\/1\.1 408 /)
  t.ok(client.received().endsWith(timeoutAnswer(500, 1500)), client.received())
  t.ok(elapsed >= 1500 && elapsed < 4000, `closed after ${elapsed} ms`)
})

t.test('beyond HTTP_MAX_CONNECTIONS a new connection is closed at once; open ones are served', async (t) => {
  const config = testConfig({ HTTP_MAX_CONNECTIONS: '2' })
  const { port } = await listenTestApp(t, { config })
  const health = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
  const open = [rawClient(port, t), rawClient(port, t)]
  for (const client of open) {
    client.socket.write(health)
    await until(client.socket, () => client.received().includes('\r\n\r\n'))
    t.match(client.received(), /^HTTP\/1\.1 200 /)
  }
  const third = rawClient(port, t)
  third.socket.write(health)
  await third.closed
  t.equal(third.received(), '', 'closed without an answer')
  const [first] = open
  const before = first!.received().length
  first!.socket.write(health)
  await until(first!.socket, () => first!.received().length > before && first!.received().slice(before).includes('\r\n\r\n'))
  t.match(first!.received().slice(before), /^HTTP\/1\.1 200 /, 'a kept-alive connection is still served')
})
