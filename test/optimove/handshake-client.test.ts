import t from 'tap'
import type { Test } from 'tap'
import { HandshakeExhaustedError, HandshakeRejectedError, performHandshake } from '../../src/optimove/handshake-client.js'
import { createLogger } from '../../src/logger.js'
import { SimOptimove } from '../../src/sim/optimove.js'
import { verifyHubSignature } from '../../src/lib/hmac-signature.js'
import { logCapture, testConfig } from '../helper.js'

async function setup (t: Test, envOverrides: Record<string, string> = {}) {
  const base = testConfig()
  const sim = await new SimOptimove({ appApiKey: base.registrations[0]!.appApiKey, sharedSecret: base.registrations[0]!.sharedSecret }).start()
  t.teardown(() => sim.close())
  const config = testConfig({ OPTIMOVE_BASE_URL: sim.baseUrl + '/', ...envOverrides })
  const registration = config.registrations[0]!
  const options = { ...config.handshake, campaignSendUrl: config.campaignSendUrl, logger: createLogger('silent'), random: () => 0.5 }
  return { sim, config, registration, options }
}

t.test('200: registered, with the exact payload, headers and signature', async (t) => {
  const { sim, config, registration, options } = await setup(t)
  t.equal(await performHandshake(registration, options), 'registered')
  const [call] = sim.received('handshake')
  t.equal(call!.status, 200)
  t.same(call!.body, { aggregatorApiKey: registration.aggregatorApiKey, campaignSendUrl: config.campaignSendUrl, senderId: 'Brand' })
  t.equal(call!.headers['app-api-key'], registration.appApiKey)
  t.equal(call!.headers['content-type'], 'application/json')
  t.ok(verifyHubSignature(call!.headers['x-hub-signature'], Buffer.from(JSON.stringify(call!.body)), registration.sharedSecret).ok)
  t.same(sim.registration, call!.body)
})

t.test('any 2xx is success: 201, 202 and 204 register at once, no retry', async (t) => {
  for (const status of [201, 202, 204]) {
    const { sim, registration, options } = await setup(t)
    sim.script('handshake', { status, body: status === 204 ? undefined : { message: 'ok' } })
    t.equal(await performHandshake(registration, options), 'registered', `HTTP ${status}`)
    t.same(sim.received('handshake').map((c) => c.status), [status])
  }
})

t.test('409: the same payload again counts as registered', async (t) => {
  const { sim, registration, options } = await setup(t)
  await performHandshake(registration, options)
  t.equal(await performHandshake(registration, options), 'already-registered')
  t.same(sim.received('handshake').map((c) => c.status), [200, 409])
})

t.test('400: rejected at once with Optimove\'s reason, no retry', async (t) => {
  const { sim, registration, options } = await setup(t)
  sim.script('handshake', { status: 400, body: { message: 'API token, appId, or tenantId is missing.' } })
  const err = await performHandshake(registration, options).catch((e) => e)
  t.type(err, HandshakeRejectedError)
  t.match(err.message, /rejected by Optimove \(400\): API token, appId, or tenantId is missing\./)
  t.equal(sim.received('handshake').length, 1)
})

t.test('400 in problem-details form: the field errors are in the reason', async (t) => {
  const { sim, registration, options } = await setup(t)
  sim.script('handshake', { status: 400, body: { title: 'One or more validation errors occurred.', status: 400, errors: { SenderId: ['The SenderId field is required.'] } } })
  const err = await performHandshake(registration, options).catch((e) => e)
  t.type(err, HandshakeRejectedError)
  t.match(err.message, /SenderId: The SenderId field is required\./)
})

t.test('a wrong app-api-key is refused by the simulator and rejected, not retried', async (t) => {
  const { sim, registration, options } = await setup(t)
  const err = await performHandshake({ ...registration, appApiKey: 'wrong' }, options).catch((e) => e)
  t.type(err, HandshakeRejectedError)
  t.equal(err.status, 401)
  t.equal(sim.received('handshake').length, 0, 'the simulator records only authenticated calls')
})

t.test('500 then 200: retried with backoff until registered', async (t) => {
  const { sim, registration, options } = await setup(t)
  sim.script('handshake', { status: 500, body: { message: 'boom', error: 'x' } }, { status: 503, body: { message: 'busy' } }, { status: 429 })
  t.equal(await performHandshake(registration, options), 'registered')
  t.same(sim.received('handshake').map((c) => c.status), [500, 503, 429, 200])
})

t.test('5xx every time: bounded by HANDSHAKE_MAX_ATTEMPTS', async (t) => {
  const { sim, registration, options } = await setup(t, { HANDSHAKE_MAX_ATTEMPTS: '3' })
  sim.script('handshake', ...Array.from({ length: 5 }, () => ({ status: 500, body: { message: 'down' } })))
  const err = await performHandshake(registration, options).catch((e) => e)
  t.type(err, HandshakeExhaustedError)
  t.match(err.message, /after 3 attempts: HTTP 500: down/)
  t.equal(sim.received('handshake').length, 3)
})

t.test('network errors are retried, then reported', async (t) => {
  const { sim, registration, options } = await setup(t, { HANDSHAKE_MAX_ATTEMPTS: '2' })
  await sim.close()
  const err = await performHandshake(registration, options).catch((e) => e)
  t.type(err, HandshakeExhaustedError)
  t.match(err.message, /network error/)
})

t.test('an abort stops the retries at once', async (t) => {
  const { sim, registration, options } = await setup(t, { HANDSHAKE_BASE_DELAY_MS: '600000', HANDSHAKE_MAX_DELAY_MS: '600000' })
  sim.script('handshake', { status: 500 })
  const controller = new AbortController()
  sim.once('call', () => setImmediate(() => controller.abort(new Error('stopping'))))
  const err = await performHandshake(registration, { ...options, signal: controller.signal }).catch((e) => e)
  t.equal(err.message, 'stopping')
})

t.test('3xx: retried like a 5xx, each redirect logged at error with where it pointed', async (t) => {
  const { sim, registration, options } = await setup(t)
  const logs = logCapture()
  const elsewhere = 'https://tenant.optimove.example/api/v1/aggregator/handshake'
  sim.script('handshake', { status: 301, headers: { location: elsewhere } }, { status: 308, headers: { location: elsewhere } })
  t.equal(await performHandshake(registration, { ...options, logger: createLogger('info', logs.stream) }), 'registered')
  t.same(sim.received('handshake').map((c) => c.status), [301, 308, 200])
  const errors = logs.lines().map((l) => JSON.parse(l)).filter((l) => l.level === 50)
  t.same(errors.map((l) => [l.attempt, l.problem]), [
    [1, `HTTP 301 redirect to ${elsewhere}: check the registration's Optimove base URL`],
    [2, `HTTP 308 redirect to ${elsewhere}: check the registration's Optimove base URL`]
  ])
})

t.test('3xx every time: not rejected, exhausted after HANDSHAKE_MAX_ATTEMPTS with the redirect as the reason', async (t) => {
  const { sim, registration, options } = await setup(t, { HANDSHAKE_MAX_ATTEMPTS: '2' })
  const logs = logCapture()
  sim.script('handshake', { status: 302, headers: { location: 'https://login.example/' } }, { status: 302, headers: { location: 'https://login.example/' } })
  const err = await performHandshake(registration, { ...options, logger: createLogger('info', logs.stream) }).catch((e) => e)
  t.type(err, HandshakeExhaustedError)
  t.match(err.message, /after 2 attempts: HTTP 302 redirect to https:\/\/login\.example\/: check the registration's Optimove base URL/)
  t.equal(sim.received('handshake').length, 2)
  t.equal(logs.lines().map((l) => JSON.parse(l)).filter((l) => l.level === 50).length, 2, 'the last redirect is logged at error too')
})

t.test('an answer trickling past the deadline is cut and retried', async (t) => {
  const { sim, registration, options } = await setup(t)
  const logs = logCapture()
  sim.script('handshake', { status: 200, body: { message: 'Handshake completed successfully' }, trickleMs: 100 })
  const started = performance.now()
  t.equal(await performHandshake(registration, { ...options, timeoutMs: 300, logger: createLogger('info', logs.stream) }), 'registered')
  t.ok(performance.now() - started < 2000, 'the first attempt was cut at its deadline, not after the whole answer (about 4 s)')
  t.equal(sim.received('handshake').length, 2)
  t.match(logs.lines().map((l) => JSON.parse(l)).find((l) => l.msg === 'handshake failed, retrying'), { level: 40, attempt: 1, problem: 'timeout: no complete answer from Optimove within 300 ms' })
})
