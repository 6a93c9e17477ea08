import t, { type Test } from 'tap'
import type { PendingIncoming, PendingReport } from '../../src/core/store/store.js'
import { createOptimoveOutboxClient } from '../../src/optimove/outbox-client.js'
import { SimOptimove, type ReceivedCall } from '../../src/sim/optimove.js'
import { testConfig, until } from '../helper.js'

// The Optimove outbox client against the simulated Optimove: what each answer comes to for
// the outbox worker (done, retry, park), with a deadline over the whole exchange.

const TIMEOUT_MS = 400

const report: PendingReport = {
  id: '1',
  registrationId: 'default',
  attempts: 1,
  outcome: 'delivered',
  statusAt: Date.UTC(2025, 3, 1, 12, 0, 0),
  error: null,
  reference: 'ref-1',
  providerMessageId: '01JQRJWK259Y1YEECJZB50908C',
  mobileNumber: '4520000000',
  customerId: 'customer-1',
  batchId: 'batch-1',
  requestId: 'request-1',
  senderId: 'Brand',
  metadataJson: '{"tenantId":1001}'
}

const reply: PendingIncoming = { id: '1', registrationId: 'default', attempts: 1, from: '4520000000', to: 'Brand', text: 'STOP', sentAt: Date.UTC(2025, 3, 1, 12, 0, 0) }

async function setup (t: Test) {
  const base = testConfig().registrations[0]!
  const sim = await new SimOptimove({ appApiKey: base.appApiKey, sharedSecret: base.sharedSecret }).start()
  t.teardown(() => sim.close())
  const client = createOptimoveOutboxClient(testConfig({ OPTIMOVE_BASE_URL: sim.baseUrl }).registrations, { connections: 2, timeoutMs: TIMEOUT_MS })
  t.teardown(() => client.close())
  return { sim, client }
}

t.test('through the wire: 2xx and 409 done; 5xx retry; 429 pause for Retry-After; 401 pause with an alert; 400 with a validation body park; another 4xx retry with an alert', async (t) => {
  const { sim, client } = await setup(t)
  t.strictSame(await client.deliverReports([report]), { kind: 'done' })
  const problem = { title: 'One or more validation errors occurred.', status: 400, errors: { Metadata: ['The Metadata field is required.'] } }
  sim.script('delivery-report',
    { status: 409, body: { title: 'Duplicate' } },
    { status: 500, body: { message: 'boom' } },
    { status: 429, headers: { 'retry-after': '2' } },
    { status: 401, body: { message: 'Unauthorized: invalid API token.' } },
    { status: 400, body: problem },
    { status: 400, body: { message: 'Unknown campaign' } })
  t.strictSame(await client.deliverReports([report]), { kind: 'done' })
  t.strictSame(await client.deliverReports([report]), { kind: 'retry', reason: 'HTTP 500: boom' })
  t.strictSame(await client.deliverReports([report]), { kind: 'pause', reason: 'HTTP 429: no reason given', alert: false, retryAfterMs: 2000 })
  t.strictSame(await client.deliverReports([report]), { kind: 'pause', reason: 'HTTP 401: Unauthorized: invalid API token.', alert: true })
  t.strictSame(await client.deliverReports([report]), { kind: 'park', reason: 'HTTP 400: One or more validation errors occurred.; Metadata: The Metadata field is required.' })
  t.strictSame(await client.deliverReports([report]), { kind: 'retry', reason: 'HTTP 400: Unknown campaign', alert: true })
  t.strictSame(await client.deliverIncoming([reply]), { kind: 'done' })
})

for (const status of [301, 302, 307, 308]) {
  t.test(`${status}: retry with an alert, never parked`, async (t) => {
    const { sim, client } = await setup(t)
    const elsewhere = 'https://tenant.optimove.example/api/v1/aggregator'
    sim.script('delivery-report', { status, headers: { location: `${elsewhere}/delivery-report` } })
    sim.script('incoming-message', { status, headers: { location: `${elsewhere}/incoming-message` } })
    t.strictSame(await client.deliverReports([report]), {
      kind: 'retry',
      reason: `HTTP ${status} redirect to ${elsewhere}/delivery-report: check the registration's Optimove base URL`,
      alert: true
    })
    t.strictSame(await client.deliverIncoming([reply]), {
      kind: 'retry',
      reason: `HTTP ${status} redirect to ${elsewhere}/incoming-message: check the registration's Optimove base URL`,
      alert: true
    })
    t.strictSame(await client.deliverReports([report]), { kind: 'done' }, 'once Optimove answers directly, the report goes')
  })
}

t.test('an answer trickling one byte every 100 ms is cut at REPORT_TIMEOUT_MS and retried', async (t) => {
  const { sim, client } = await setup(t)
  const body = { message: 'Delivery report received' }
  sim.script('delivery-report', { status: 200, body, trickleMs: 100 })
  const started = performance.now()
  const result = await client.deliverReports([report])
  const elapsed = performance.now() - started
  t.strictSame(result, { kind: 'retry', reason: `timeout: no complete answer from Optimove within ${TIMEOUT_MS} ms` })
  t.ok(elapsed < JSON.stringify(body).length * 100 / 2, `cut at the deadline (${Math.round(elapsed)} ms), not after the whole answer`)
  t.strictSame(await client.deliverReports([report]), { kind: 'done' }, 'the next attempt goes through')
})

t.test('a 100 MB answer: read up to the cap only, and the status decides', async (t) => {
  const { sim, client } = await setup(t)
  const answered: ReceivedCall[] = []
  sim.on('answered', (call: ReceivedCall) => answered.push(call))
  sim.script('delivery-report', { status: 200, streamBytes: 100 * 1024 * 1024 }, { status: 503, streamBytes: 100 * 1024 * 1024 })
  t.strictSame(await client.deliverReports([report]), { kind: 'done' })
  t.strictSame(await client.deliverReports([report]), { kind: 'retry', reason: 'HTTP 503: (RESPONSE_TOO_LARGE: response body over the 65536-byte cap; reading stopped there)' })
  await until(sim, 'answered', () => answered.length === 2)
  t.ok(answered.every((c) => c.bytesSent! < 16 * 1024 * 1024), `neither answer was sent whole (${answered.map((c) => c.bytesSent).join(', ')} bytes)`)
})

t.test('a registration no longer configured: parked', async (t) => {
  const { client } = await setup(t)
  t.strictSame(await client.deliverReports([{ ...report, registrationId: 'gone' }]), { kind: 'park', reason: 'registration "gone" is no longer configured' })
})
