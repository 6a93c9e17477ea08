import { once } from 'node:events'
import t, { type Test } from 'tap'
import { OPTIMOVE_RESPONSE_LIMIT_BYTES, OptimoveTimeoutError, postToOptimove } from '../../src/optimove/signed-post.js'
import { SimOptimove, type ReceivedCall } from '../../src/sim/optimove.js'
import { testConfig } from '../helper.js'

// postToOptimove against the simulated Optimove on loopback: one deadline over the whole
// exchange (a trickled answer cannot hold it), and a capped read of the answer.

const REPORT = { type: { status: 'Delivered', subStatus: 'Delivered' }, metadata: { tenantId: 1 } }

async function setup (t: Test) {
  const base = testConfig().registrations[0]!
  const sim = await new SimOptimove({ appApiKey: base.appApiKey, sharedSecret: base.sharedSecret }).start()
  t.teardown(() => sim.close())
  const registration = testConfig({ OPTIMOVE_BASE_URL: sim.baseUrl }).registrations[0]!
  return { sim, registration }
}

t.test('an answer trickling one byte every 100 ms is cut at the deadline, though no single wait is long', async (t) => {
  const { sim, registration } = await setup(t)
  const body = { message: 'Delivery report received' }
  const fullMs = JSON.stringify(body).length * 100
  sim.script('delivery-report', { status: 200, body, trickleMs: 100 })
  const answered = once(sim, 'answered')

  const started = performance.now()
  const err = await postToOptimove(registration, '/delivery-report', REPORT, { timeoutMs: 400 }).catch((e: unknown) => e)
  const elapsed = performance.now() - started

  t.type(err, OptimoveTimeoutError)
  t.match(err, { code: 'OPTIMOVE_TIMEOUT', timeoutMs: 400, message: 'no complete answer from Optimove within 400 ms' })
  t.ok(elapsed >= 350 && elapsed < fullMs / 2, `ended at the deadline (${Math.round(elapsed)} ms), not after the whole answer (${fullMs} ms)`)
  const [call] = await answered as [ReceivedCall]
  t.ok(call.bytesSent! < JSON.stringify(body).length, `the connection was cut after ${call.bytesSent} of ${JSON.stringify(body).length} bytes`)
})

t.test('headers that never come are cut at the deadline too', async (t) => {
  const { sim, registration } = await setup(t)
  let release: (() => void) | undefined
  sim.script('delivery-report', { status: 200, body: { message: 'late' }, before: () => new Promise<void>((resolve) => { release = resolve }) })
  t.teardown(() => release?.())
  const err = await postToOptimove(registration, '/delivery-report', REPORT, { timeoutMs: 300 }).catch((e: unknown) => e)
  t.type(err, OptimoveTimeoutError)
})

t.test('the caller\'s abort still ends the request, with the caller\'s reason', async (t) => {
  const { sim, registration } = await setup(t)
  sim.script('handshake', { status: 200, body: { message: 'Handshake completed successfully' }, trickleMs: 100 })
  const controller = new AbortController()
  sim.once('call', () => controller.abort(new Error('stopping')))
  const err = await postToOptimove(registration, '/handshake', { aggregatorApiKey: 'k' }, { timeoutMs: 10_000, signal: controller.signal }).catch((e: unknown) => e)
  t.notOk(err instanceof OptimoveTimeoutError, 'not the deadline')
  t.equal((err as Error).message, 'stopping')
})

t.test('a 100 MB answer is cut at 64 KiB: the status stands, the body says why it is missing', async (t) => {
  const { sim, registration } = await setup(t)
  t.equal(OPTIMOVE_RESPONSE_LIMIT_BYTES, 64 * 1024)
  sim.script('delivery-report', { status: 200, streamBytes: 100 * 1024 * 1024 })
  const answered = once(sim, 'answered')
  const rssBefore = process.memoryUsage().rss
  const reply = await postToOptimove(registration, '/delivery-report', REPORT)
  t.equal(reply.status, 200)
  t.equal(reply.body, '(RESPONSE_TOO_LARGE: response body over the 65536-byte cap; reading stopped there)')
  const [call] = await answered as [ReceivedCall]
  t.ok(call.bytesSent! < 16 * 1024 * 1024, `Optimove could write only ${call.bytesSent} bytes before the client cut it (far below 100 MB)`)
  t.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory did not grow by the answer\'s size')
})

t.test('a redirect resolves with its status and where it points', async (t) => {
  const { sim, registration } = await setup(t)
  sim.script('delivery-report', { status: 301, headers: { location: 'https://tenant.optimove.example/api/v1/aggregator/delivery-report' } })
  const reply = await postToOptimove(registration, '/delivery-report', REPORT)
  t.strictSame(reply, { status: 301, body: undefined, location: 'https://tenant.optimove.example/api/v1/aggregator/delivery-report' })
  t.equal(sim.received('delivery-report').length, 1, 'the redirect was not followed')
})

t.test('a normal answer: status and parsed JSON, no location', async (t) => {
  const { registration } = await setup(t)
  t.strictSame(await postToOptimove(registration, '/delivery-report', REPORT), { status: 200, body: { message: 'Delivery report received' } })
})
