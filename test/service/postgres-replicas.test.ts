import t from 'tap'
import { startService } from '../../src/service.js'
import { createLogger } from '../../src/logger.js'
import { campaignBody, startStack, until } from '../helper.js'
import { pgTestSetting, schemaUrlFor } from '../core/store/pg-test-database.js'

// Two replicas of the service on one PostgreSQL database, relaying and reporting side by side:
// every message reaches GatewayAPI once and every report reaches Optimove once.

const setting = pgTestSetting()

t.test('two replicas on one PostgreSQL database send each message once and report each once', 'skip' in setting ? { skip: setting.skip } : {}, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const databaseUrl = await schemaUrlFor(setting.url, t.testdir())
  // Small claims, so that both replicas take part.
  const small = { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4', SEND_BATCH_SIZE: '10', SEND_CONCURRENCY: '2' }
  const { optimove, gateway, service: first, config, sendCampaign } = await startStack(t, small)
  const second = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => second.stop())

  t.match((await sendCampaign(campaignBody({ recipients: 300 }))).body, { accepted: 300 })
  await gateway.waitForAccepted(300)
  t.equal(new Set(gateway.accepted.map((m) => m.reference)).size, 300, 'every message once')

  for (const m of gateway.accepted) t.equal((await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))).status, 200)
  const reports = () => optimove.received('delivery-report').filter((c) => c.status === 200)
  await until(optimove, 'answered', () => reports().length >= 300)
  // Stopped (stop() is idempotent), each replica has settled what it had in flight: nothing more comes.
  await Promise.all([first.stop(), second.stop()])
  t.equal(gateway.accepted.length, 300, 'no message sent twice')
  t.equal(reports().length, 300, 'no report sent twice')
  t.equal(new Set(reports().map((c) => (c.body as { messageId: string }).messageId)).size, 300, 'every message reported once')
})
