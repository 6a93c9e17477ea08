import t from 'tap'
import { writeFileSync } from 'node:fs'
import { request } from 'undici'
import { parseConfig, CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { verifyHubSignature, signHubSignature } from '../../src/lib/hmac-signature.js'
import { createLogger } from '../../src/logger.js'
import { startService } from '../../src/service.js'
import { SimOptimove } from '../../src/sim/optimove.js'
import { campaignBody, inspectStoreAt, simGatewayApi, testEnv, until } from '../helper.js'

t.test('two registrations in one process: own key and signature in, own Optimove and credentials out', async (t) => {
  const tenants = await Promise.all(['tenant-a', 'tenant-b'].map(async (name) => ({
    name,
    key: `aggregator-key-${name}`,
    sim: await new SimOptimove({ appApiKey: `app-key-${name}`, sharedSecret: `shared-secret-${name}` }).start()
  })))
  const env = testEnv()
  const gateway = await simGatewayApi(t, { token: env.GATEWAYAPI_TOKEN! }).start()
  t.teardown(async () => { await gateway.close(); for (const x of tenants) await x.sim.close() })
  const dir = t.testdir()
  writeFileSync(`${dir}/registrations.json`, JSON.stringify(tenants.map((x) => ({
    name: x.name, optimoveBaseUrl: x.sim.baseUrl, appApiKey: x.sim.options.appApiKey, sharedSecret: x.sim.options.sharedSecret,
    aggregatorApiKey: x.key, senderId: x.name === 'tenant-a' ? 'BrandA' : 'BrandB', inboundTo: `inbound-${x.name}`
  }))))
  const config = parseConfig(testEnv({
    OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined,
    REGISTRATIONS_FILE: `${dir}/registrations.json`, GATEWAYAPI_BASE_URL: gateway.url, DATABASE_URL: `sqlite:${dir}/bridge.db`,
    SEND_IDLE_POLL_MS: '50', REPORT_IDLE_POLL_MS: '50'
  }))
  const service = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  gateway.options.webhook = { url: `${service.url}${GATEWAYAPI_EVENTS_PATH}`, secret: config.gatewayapi.webhookSecret }
  t.same(await service.handshakes, [])
  for (const x of tenants) t.equal(x.sim.received('handshake')[0]!.headers['app-api-key'], x.sim.options.appApiKey, `${x.name} registered with its own token`)
  const url = `${service.url}${CAMPAIGN_SEND_PATH}`

  // In: each campaign only with its own key and its own signature.
  const [a, b] = tenants as [typeof tenants[0], typeof tenants[0]]
  const bodyA = { ...campaignBody({ recipients: 3, requestId: 'same-request-id' }), senderId: '' }
  const bodyB = { ...campaignBody({ recipients: 2, requestId: 'same-request-id' }), senderId: '' }
  ;((bodyB as Record<string, unknown>).recipients as Array<{ mobileNumber: string }>).forEach((r, i) => { r.mobileNumber = `4530000${i}00` })
  const crossSigned = await a.sim.sendCampaign(bodyA, { url, apiKey: a.key, signature: signHubSignature(JSON.stringify(bodyA), b.sim.options.sharedSecret) })
  t.equal(crossSigned.status, 401, 'A\'s key with B\'s signature is refused')
  t.equal((await a.sim.sendCampaign(bodyA, { url, apiKey: 'aggregator-key-unknown' })).status, 401)
  t.match((await a.sim.sendCampaign(bodyA, { url, apiKey: a.key })).body, { accepted: 3 })
  t.match((await b.sim.sendCampaign(bodyB, { url, apiKey: b.key })).body, { accepted: 2 }, 'the same requestId is a new campaign for another registration')

  await gateway.waitForAccepted(5)
  t.same(gateway.accepted.map((m) => m.sender).sort(), ['BrandA', 'BrandA', 'BrandA', 'BrandB', 'BrandB'], 'each registration\'s default sender')
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(`${dir}/bridge.db`)).messages.every((m) => m.state === 'submitted'))
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  // A reply from a number that only tenant B texted belongs to tenant B.
  await gateway.postWebhook(gateway.replyEvent(4530000100, 'STOP'))

  await until(service.reports, 'settled', () => a.sim.received('delivery-report').length === 3 && b.sim.received('delivery-report').length === 2)
  await until(service.replies, 'settled', () => b.sim.received('incoming-message').length === 1)
  for (const x of tenants) {
    for (const call of [...x.sim.received('delivery-report'), ...x.sim.received('incoming-message')]) {
      t.equal(call.headers['app-api-key'], x.sim.options.appApiKey, `${x.name}: its own token`)
      t.ok(verifyHubSignature(call.headers['x-hub-signature'], Buffer.from(JSON.stringify(call.body)), x.sim.options.sharedSecret).ok, `${x.name}: signed with its own secret`)
    }
  }
  t.same(a.sim.received('delivery-report').map((c) => (c.body as any).senderId), ['BrandA', 'BrandA', 'BrandA'])
  t.same(b.sim.received('delivery-report').map((c) => (c.body as any).senderId), ['BrandB', 'BrandB'])
  t.equal(a.sim.received('incoming-message').length, 0)
  t.match(b.sim.received('incoming-message')[0]!.body, { messages: [{ to: 'inbound-tenant-b', from: '4530000100', message: 'STOP' }] })
})

t.test('one registration failing its handshake does not stop the other; /ready shows each', async (t) => {
  const good = await new SimOptimove({ appApiKey: 'app-good', sharedSecret: 'secret-good' }).start()
  const bad = await new SimOptimove({ appApiKey: 'app-bad', sharedSecret: 'secret-bad' }).start()
  t.teardown(async () => { await good.close(); await bad.close() })
  // Refused every time: its background retries (however soon they come) keep failing, so /ready shows it failed.
  bad.script('handshake', ...Array.from({ length: 100 }, () => ({ status: 400, body: { message: 'API token, appId, or tenantId is missing.' } })))
  const dir = t.testdir()
  writeFileSync(`${dir}/registrations.json`, JSON.stringify([
    { name: 'good', optimoveBaseUrl: good.baseUrl, appApiKey: 'app-good', sharedSecret: 'secret-good', aggregatorApiKey: 'k-good', senderId: 'Good' },
    { name: 'bad', optimoveBaseUrl: bad.baseUrl, appApiKey: 'app-bad', sharedSecret: 'secret-bad', aggregatorApiKey: 'k-bad', senderId: 'Bad' }
  ]))
  const config = parseConfig(testEnv({
    OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined,
    REGISTRATIONS_FILE: `${dir}/registrations.json`, DATABASE_URL: `sqlite:${dir}/bridge.db`
  }))
  const service = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  const failures = await service.handshakes
  t.same(failures.map((f) => f.registrationId), ['bad'])
  t.match(failures[0]!.reason, /rejected by Optimove \(400\)/)
  const ready = await request(`${service.adminUrl}/ready`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { ready: true, store: 'ok', sending: 'ok', registrations: { good: 'registered', bad: 'failed' } })
})
