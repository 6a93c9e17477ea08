import t from 'tap'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { request } from 'undici'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { childStack } from '../helper.js'

const CONNECTIONS = 1000
const MB = 1024 * 1024

/** VmRSS and VmHWM (peak RSS) of a process, in bytes, as the kernel reports them. */
function memoryOf (pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM') }
}

t.test(`${CONNECTIONS} connections trickling event bodies: memory stays bounded, others are served, each is cut off at the request timeout`, async (t) => {
  const { spawn, url, gateway } = await childStack(t, { HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '8000' })
  const service = spawn()
  await service.waitForLog((l) => l.msg === 'ready')
  const pid = service.child.pid!
  const port = Number(new URL(url).port)

  // Well-formed but wrong signatures pass the early form check, so each body is awaited.
  const head = `POST ${GATEWAYAPI_EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Signature: v1=${'0123456789abcdef'.repeat(4)}\r\nContent-Length: 60000\r\n\r\n{`
  const sockets: Socket[] = []
  const answers: string[] = []
  const closed: Array<Promise<void>> = []
  let closedCount = 0
  t.teardown(() => { for (const socket of sockets) socket.destroy() })
  for (let wave = 0; wave < CONNECTIONS / 100; wave++) {
    const opening: Array<Promise<unknown>> = []
    for (let i = 0; i < 100; i++) {
      const socket = connect(port, '127.0.0.1')
      const index = sockets.push(socket) - 1
      answers[index] = ''
      socket.setEncoding('utf8').on('data', (chunk: string) => { answers[index] += chunk })
      socket.on('error', () => {})
      // Not events.once: it would reject on the reset that may follow the server's 408.
      closed.push(new Promise<void>((resolve) => socket.once('close', () => { closedCount++; resolve() })))
      opening.push(once(socket, 'connect').then(() => socket.write(head)))
    }
    await Promise.all(opening)
  }
  // A few bytes per second each: never idle, never done.
  const trickle = setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(' ')
  }, 250)
  t.teardown(() => clearInterval(trickle))

  const health = await request(`${url}/health`)
  t.equal(health.statusCode, 200, '/health is answered meanwhile')
  await health.body.dump()
  const event = await gateway.postWebhook(gateway.statusEvent({ msg_id: 'X'.repeat(26), recipient: 4511111111, reference: 'nobody' }, 'DELIVERED'))
  t.same(event, { status: 200, body: { status: 'unknown-message' } }, 'a signed event is verified, stored and answered meanwhile')
  t.equal(closedCount, 0, `all ${CONNECTIONS} slow uploads were still open while those were answered`)
  const during = memoryOf(pid)

  await Promise.all(closed)
  clearInterval(trickle)
  const timedOut = answers.filter((a) => a.startsWith('HTTP/1.1 408 ')).length
  t.equal(closedCount, CONNECTIONS, 'every slow upload was cut off and closed by the server')
  // A client still writing when the server closes may get a reset that discards the 408 it
  // was sent (TCP drops unread data on a reset): most read it, none is left open.
  t.ok(timedOut > CONNECTIONS / 2, `${timedOut} of ${CONNECTIONS} read the 408 before the close`)
  const after = memoryOf(pid)
  t.ok(after.peak < 400 * MB, `peak RSS ${(after.peak / MB).toFixed(0)} MB (${(during.rss / MB).toFixed(0)} MB with all connections open) stays under 400 MB`)
  t.equal((await request(`${url}/health`)).statusCode, 200, 'still healthy afterwards')
})
