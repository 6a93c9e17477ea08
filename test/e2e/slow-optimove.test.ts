import t from 'tap'
import { writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { parseConfig, CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { startService } from '../../src/service.js'
import { SimOptimove } from '../../src/sim/optimove.js'
import { inspectStoreAt, simGatewayApi, testEnv, until } from '../helper.js'

const unusableCampaign = (n: number, batchId: string) => ({
  batchId,
  requestId: batchId,
  metadata: { campaignId: batchId },
  recipients: Array.from({ length: n }, (_, i) => ({ message: `Hi ${i}`, mobileNumber: `unusable-${i}`, customerId: `c${i}` }))
})

t.test('one registration\'s Optimove trickles its answer: cut at the deadline and retried, while the other registration\'s reports flow', async (t) => {
  const tenants = await Promise.all(['slow', 'fast'].map(async (name) => ({
    name,
    key: `aggregator-key-${name}`,
    sim: await new SimOptimove({ appApiKey: `app-key-${name}`, sharedSecret: `shared-secret-${name}` }).start()
  })))
  const [slow, fast] = tenants as [typeof tenants[0], typeof tenants[0]]
  const gateway = await simGatewayApi(t, { token: testEnv().GATEWAYAPI_TOKEN! }).start()
  t.teardown(async () => { await gateway.close(); for (const x of tenants) await x.sim.close() })
  const dir = t.testdir()
  writeFileSync(`${dir}/registrations.json`, JSON.stringify(tenants.map((x) => ({
    name: x.name, optimoveBaseUrl: x.sim.baseUrl, appApiKey: x.sim.options.appApiKey, sharedSecret: x.sim.options.sharedSecret, aggregatorApiKey: x.key, senderId: 'Brand'
  }))))
  const config = parseConfig(testEnv({
    OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined,
    REGISTRATIONS_FILE: `${dir}/registrations.json`, GATEWAYAPI_BASE_URL: gateway.url, DATABASE_URL: `sqlite:${dir}/bridge.db`,
    REPORT_TIMEOUT_MS: '3000', REPORT_RETRY_BASE_MS: '5', REPORT_RETRY_MAX_MS: '20', REPORT_IDLE_POLL_MS: '50'
  }))
  const service = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  t.same(await service.handshakes, [])
  const url = `${service.url}${CAMPAIGN_SEND_PATH}`

  // The slow tenant's Optimove sends its headers, then one byte every 2 s: it never finishes in time.
  slow.sim.script('delivery-report', { status: 200, body: { message: 'Delivery report received' }, trickleMs: 2000 })
  const trickled = once(slow.sim, 'call')
  t.match((await slow.sim.sendCampaign(unusableCampaign(1, 'slow-1'), { url, apiKey: slow.key })).body, { rejected: 1 })
  await trickled
  const slowStarted = performance.now()

  // Meanwhile the fast tenant's reports all go out, while the slow answer is still trickling.
  t.match((await fast.sim.sendCampaign(unusableCampaign(40, 'fast-1'), { url, apiKey: fast.key })).body, { rejected: 40 })
  await until(service.reports, 'settled', () => fast.sim.received('delivery-report').length === 40)
  const fastDoneMs = performance.now() - slowStarted
  t.ok(fastDoneMs < 3000, `the fast reports were all delivered ${Math.round(fastDoneMs)} ms after the slow request began, inside its 3 s deadline`)
  t.equal(slow.sim.received('delivery-report').length, 1, 'the slow answer has not been cut yet')
  t.ok(service.reports.inFlightCount >= 1, 'it is still in flight while the others are done')

  // At the deadline the slow request is cut and the report retried; it arrives once accepted.
  await until(service.reports, 'settled', async () => (await inspectStoreAt(`${dir}/bridge.db`)).reports.every((r) => r.state === 'done'))
  const slowCalls = slow.sim.received('delivery-report')
  t.equal(slowCalls.length, 2, 'the cut request was retried once')
  t.equal(new Set(fast.sim.received('delivery-report').map((c) => (c.body as { messageId: string }).messageId)).size, 40, 'each fast report once')
})
