import t from 'tap'
import { configSecrets } from '../../src/config.js'
import { createLogger } from '../../src/logger.js'
import { startService } from '../../src/service.js'
import { SimOptimove } from '../../src/sim/optimove.js'
import { campaignBody, logCapture, testConfig, testEnv } from '../helper.js'

t.test('no secret reaches a log line over a full request cycle, even at trace level', async (t) => {
  const env = testEnv()
  const sim = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  t.teardown(() => sim.close())
  const config = testConfig({ OPTIMOVE_BASE_URL: sim.baseUrl, DATABASE_URL: `sqlite:${t.testdir()}/bridge.db` })
  const capture = logCapture()
  // A first handshake fails, so the retry path logs too.
  sim.script('handshake', { status: 500, body: { message: 'temporarily down' } })
  const service = await startService({ ...config, campaignSendUrl: 'http://placeholder' }, { logger: createLogger('trace', capture.stream) })
  t.teardown(() => service.stop())
  await service.handshakes
  const campaignUrl = `${service.url}/api/v1/campaigns/send`

  const good = await sim.sendCampaign(campaignBody(), { url: campaignUrl, apiKey: config.registrations[0]!.aggregatorApiKey })
  t.equal(good.status, 200)
  const badSignature = await sim.sendCampaign(campaignBody(), { url: campaignUrl, apiKey: config.registrations[0]!.aggregatorApiKey, signature: 'sha256=' + 'b'.repeat(64) })
  t.equal(badSignature.status, 401)
  const badKey = await sim.sendCampaign(campaignBody(), { url: campaignUrl, apiKey: 'not-the-key' })
  t.equal(badKey.status, 401)
  await service.stop()

  const text = capture.text()
  const lines = capture.lines()
  t.ok(lines.some((l) => l.includes('campaign accepted')), 'the cycle was logged')
  t.ok(lines.some((l) => l.includes('campaign signature refused')), 'the refusal was logged')
  t.ok(lines.some((l) => l.includes('handshake failed, retrying')), 'the handshake retry was logged')
  t.ok(lines.some((l) => l.includes('"reqId"')), 'request logs carry request ids')
  for (const secret of configSecrets(config)) t.notOk(text.includes(secret), `no log line contains the secret ${secret.slice(0, 10)}…`)
  t.notOk(text.includes('b'.repeat(64)), 'no signature value is logged')
  for (const call of sim.received('handshake')) t.notOk(text.includes(String(call.headers['x-hub-signature'])), 'outgoing signatures are not logged')
})

t.test('redaction covers credential headers if a request is ever logged with headers', async (t) => {
  const capture = logCapture()
  const logger = createLogger('info', capture.stream)
  logger.info({ req: { headers: { 'x-api-key': 'k1-secret', 'app-api-key': 'k2-secret', authorization: 'Token k3-secret', 'x-hub-signature': 'sha256=k4', signature: 'v1=k5' } } }, 'incoming')
  logger.info({ registration: { appApiKey: 'k6-secret', sharedSecret: 'k7-secret', aggregatorApiKey: 'k8-secret' } }, 'config')
  const text = capture.text()
  for (const secret of ['k1-secret', 'k2-secret', 'k3-secret', 'sha256=k4', 'v1=k5', 'k6-secret', 'k7-secret', 'k8-secret']) t.notOk(text.includes(secret), secret)
  t.equal(text.split('[redacted]').length - 1, 8)
})
