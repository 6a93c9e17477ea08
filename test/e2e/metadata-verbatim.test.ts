import t from 'tap'
import { EventEmitter } from 'node:events'
import { request } from 'undici'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { verifyHubSignature } from '../../src/lib/hmac-signature.js'
import { createLogger } from '../../src/logger.js'
import { startService } from '../../src/service.js'
import { listenOnLoopback, readBody } from '../../src/sim/http-server.js'
import { SimOptimove } from '../../src/sim/optimove.js'
import { campaignBody, inspectStoreAt, simGatewayApi, testConfig, testEnv, until } from '../helper.js'

/**
 * A real HTTP server in front of the simulated Optimove that keeps the exact bytes of every
 * request before passing it on, since what matters here is the text on the wire.
 */
async function recordingProxy (target: () => string) {
  const recorded: Array<{ path: string; raw: Buffer; headers: Record<string, string | string[] | undefined>; status: number }> = []
  const events = new EventEmitter()
  const server = await listenOnLoopback(async (req, res) => {
    const raw = await readBody(req)
    const { host: _host, 'content-length': _length, connection: _connection, ...headers } = req.headers
    const answer = await request(`${target()}${req.url}`, { method: 'POST', headers: headers as Record<string, string>, body: raw })
    const body = Buffer.from(await answer.body.arrayBuffer())
    recorded.push({ path: req.url ?? '', raw, headers: req.headers, status: answer.statusCode })
    res.writeHead(answer.statusCode, { 'content-type': 'application/json', 'content-length': body.length })
    res.end(body)
    events.emit('recorded')
  })
  return { url: server.url, recorded, events, close: server.close }
}

t.test('metadata Optimove sent comes back byte for byte in every delivery report', async (t) => {
  const env = testEnv()
  const optimove = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  const proxy = await recordingProxy(() => optimove.baseUrl)
  const gateway = await simGatewayApi(t, { token: env.GATEWAYAPI_TOKEN! }).start()
  t.teardown(async () => {
    await gateway.close()
    await proxy.close()
    await optimove.close()
  })
  const dbPath = `${t.testdir()}/bridge.db`
  const config = testConfig({
    OPTIMOVE_BASE_URL: proxy.url,
    GATEWAYAPI_BASE_URL: gateway.url,
    DATABASE_URL: `sqlite:${dbPath}`,
    SEND_IDLE_POLL_MS: '50',
    REPORT_RETRY_BASE_MS: '5',
    REPORT_RETRY_MAX_MS: '50',
    REPORT_IDLE_POLL_MS: '50'
  })
  const service = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  gateway.options.webhook = { url: `${service.url}${GATEWAYAPI_EVENTS_PATH}`, secret: config.gatewayapi.webhookSecret }
  t.same(await service.handshakes, [])

  // What JSON.parse + JSON.stringify would change: digits past 2^53, 1e400 (→ null), a duplicate
  // key (→ collapsed), whitespace, and 10,000 levels of nesting (→ a stack overflow).
  const deep = '['.repeat(10_000) + '{"x":"]}\\"["}' + ']'.repeat(10_000)
  const metadata = `{ "campaignId" : "c-1",\n\t"big":12345678901234567890, "huge": 1e400 ,"a":1,"a":2,\r\n "deep":${deep},  "scheduledTime":1700000000000 }`
  const recipients = campaignBody({ recipients: 3 }).recipients as Array<Record<string, string>>
  recipients[1]!.mobileNumber = 'not a number'
  const raw = `{"batchId":"batch-v","requestId":"request-v","senderId":"Brand","metadata":${metadata},"recipients":${JSON.stringify(recipients)}}`
  const accepted = await optimove.sendCampaign(raw, { url: `${service.url}${CAMPAIGN_SEND_PATH}`, apiKey: config.registrations[0]!.aggregatorApiKey })
  t.same(accepted, { status: 200, body: { message: 'Campaign accepted', batchId: 'batch-v', requestId: 'request-v', accepted: 2, rejected: 1 } })

  await gateway.waitForAccepted(2)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.filter((m) => m.state === 'submitted').length === 2)
  for (const m of gateway.accepted) t.same((await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))).body, { status: 'recorded' })

  const reports = () => proxy.recorded.filter((r) => r.path.endsWith('/delivery-report'))
  await until(proxy.events, 'recorded', () => reports().filter((r) => r.status === 200).length >= 3)
  t.equal(reports().length, 3, 'one report per message, each accepted the first time')
  for (const report of reports()) {
    const text = report.raw.toString('utf8')
    t.ok(text.includes(`,"metadata":${metadata},"batchId":"batch-v",`), 'the metadata bytes are spliced in unchanged')
    t.ok(verifyHubSignature(report.headers['x-hub-signature'], report.raw, config.registrations[0]!.sharedSecret).ok, 'signed over those exact bytes')
  }
  t.same(reports().map((r) => JSON.parse(r.raw.toString('utf8')).type.status).sort(), ['Delivered', 'Delivered', 'Failed'])
})
