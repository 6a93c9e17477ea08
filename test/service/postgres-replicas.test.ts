import t from 'tap'
import { startService } from '../../src/service.js'
import { createLogger } from '../../src/logger.js'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { campaignBody, startStack, until } from '../helper.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from '../core/store/pg-test-database.js'
import { PG_MIGRATIONS } from '../../src/core/store/pg-migrations.js'

// Three replicas of the service on one PostgreSQL database, each taking campaigns, relaying and
// reporting side by side: every message reaches GatewayAPI once and every report Optimove once.

const setting = pgTestSetting()

t.test('three replicas on one PostgreSQL database, campaigns accepted through each: each message sent once, each report delivered once', 'skip' in setting ? { skip: setting.skip } : {}, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const databaseUrl = await schemaUrlFor(setting.url, t.testdir())
  // Small claims, so that every replica takes part.
  const small = { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4', SEND_BATCH_SIZE: '50', SEND_CONCURRENCY: '2' }
  const { optimove, gateway, service: first, config } = await startStack(t, small)
  const others = await Promise.all([1, 2].map(() => startService(config, { logger: createLogger('silent') })))
  t.teardown(() => Promise.all(others.map((s) => s.stop())))
  const replicas = [first, ...others]
  t.equal(new Set(replicas.map((r) => r.store.instanceId)).size, 3, 'three instances')

  for (const [i, replica] of replicas.entries()) {
    const res = await optimove.sendCampaign(campaignBody({ recipients: 1000, requestId: `replica-${i}` }), { url: `${replica.url}${CAMPAIGN_SEND_PATH}` })
    t.match(res.body, { accepted: 1000 }, `campaign ${i} accepted by replica ${i}`)
  }
  await gateway.waitForAccepted(3000)
  t.equal(gateway.referenceCounts().size, 3000, 'every message sent')
  const sentBy = await Promise.all(replicas.map(async (r) => (await r.store.inspect()).messages.length))
  t.same(sentBy, [3000, 3000, 3000], 'one database')

  // Posted 50 at a time, as GatewayAPI posts events side by side.
  const delivered = [...gateway.accepted]
  for (let i = 0; i < delivered.length; i += 50) {
    const answers = await Promise.all(delivered.slice(i, i + 50).map((m) => gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))))
    t.same(answers.map((a) => a.status).filter((status) => status !== 200), [], `events ${i}-${i + 49} taken`)
  }
  const reports = () => optimove.received('delivery-report').filter((c) => c.status === 200)
  await until(optimove, 'answered', () => reports().length >= 3000)
  // Stopped (stop() is idempotent), each replica has settled what it had in flight: nothing more comes.
  await Promise.all(replicas.map((r) => r.stop()))
  t.equal(gateway.accepted.length, 3000, 'no message sent twice')
  t.equal(reports().length, 3000, 'no report sent twice')
  t.equal(new Set(reports().map((c) => (c.body as { messageId: string }).messageId)).size, 3000, 'every message reported once')
})

t.test('two replicas started at once on an empty database: the schema is migrated once, both serve', 'skip' in setting ? { skip: setting.skip } : {}, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const databaseUrl = await schemaUrlFor(setting.url, t.testdir())
  const { config } = await startStack(t, { DATABASE_URL: databaseUrl })
  // startStack's replica migrated already: a fresh schema for the two that start together.
  const fresh = await schemaUrlFor(setting.url, `${t.testdir()}/fresh`)
  const both = await Promise.all([0, 1].map(() => startService({ ...config, databaseUrl: fresh }, { logger: createLogger('silent') })))
  t.teardown(() => Promise.all(both.map((s) => s.stop())))
  for (const s of both) t.equal((await fetch(`${s.adminUrl}/ready`)).status, 200, 'ready')
  const applied = await onTestDatabase<{ version: number }>(fresh, 'SELECT version FROM schema_migrations ORDER BY version')
  t.same(applied.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version), 'each migration applied once')
  await Promise.all(both.map((s) => s.heartbeat.runOnce()))
  t.equal((await both[0]!.store.inspect()).instances.length, 2, 'both registered as instances')
})

t.test('a campaign accepted by one replica is sent at once by another, woken by its signal (its idle poll is ten minutes)', 'skip' in setting ? { skip: setting.skip } : {}, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const databaseUrl = await schemaUrlFor(setting.url, t.testdir())
  const { gateway, service: accepting, config, sendCampaign } = await startStack(t, { DATABASE_URL: databaseUrl, SEND_IDLE_POLL_MS: '600000' })
  const sending = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => sending.stop())
  // The replica that takes the campaign does not send: only the other one can.
  await accepting.dispatcher.stop()
  t.match((await sendCampaign(campaignBody({ recipients: 20 }))).body, { accepted: 20 })
  await gateway.waitForAccepted(20)
  const owners = new Set((await sending.store.inspect()).messages.map((m) => m.leaseOwner))
  t.same([...owners], [sending.store.instanceId], 'every message claimed by the other replica')
})
