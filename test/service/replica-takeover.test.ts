import t from 'tap'
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import { campaignBody, childStack, freePort, inspectStoreAt, until, type ServiceProcess } from '../helper.js'
import { pgTestSetting, schemaUrlFor } from '../core/store/pg-test-database.js'

// Three replicas (real processes) on one PostgreSQL database; one is SIGKILLed mid-relay and not
// restarted. Its leases run for ten minutes: only the others' takeover, once its heartbeat is
// old, lets its messages go out within the test's time. The one killed sends to a GatewayAPI
// that never answers (a server of the test's own that holds every request), so that it dies
// with claims in flight that never reached GatewayAPI.

const setting = pgTestSetting()
const options = 'skip' in setting ? { skip: setting.skip } : {}

t.test('one of three replicas SIGKILLed mid-relay: the others take over its claims once its heartbeat is old, not when its leases end; nothing lost, duplicates within its in-flight window', options, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const concurrency = 4
  const batchSize = 250
  const heartbeatMs = 500
  const deadAfterMs = 3000
  const { optimove, gateway, spawn, url: webhookReplicaUrl } = await childStack(t, {
    DATABASE_URL: await schemaUrlFor(setting.url, t.testdir()),
    DATABASE_POOL_SIZE: '4',
    SEND_CONCURRENCY: '2',
    SEND_BATCH_SIZE: '100',
    SEND_LEASE_SECONDS: '600',
    SEND_TIMEOUT_MS: '10000',
    INSTANCE_HEARTBEAT_MS: String(heartbeatMs),
    INSTANCE_DEAD_AFTER_MS: String(deadAfterMs)
  })
  gateway.latencyMs = 25
  const held: ServerResponse[] = []
  const silent = createServer((_req, res) => { held.push(res); silent.emit('held') })
  silent.listen(0, '127.0.0.1')
  await once(silent, 'listening')
  t.teardown(() => {
    for (const res of held) res.destroy()
    silent.close()
  })
  const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`
  const replicas: Array<{ process: ServiceProcess; url: string }> = []
  for (let i = 0; i < 3; i++) {
    // replica-1 on the port GatewayAPI's webhook calls (it is not the one killed).
    const port = i === 1 ? Number(new URL(webhookReplicaUrl).port) : await freePort()
    const window: Record<string, string> = i === 0 ? { SEND_CONCURRENCY: String(concurrency), SEND_BATCH_SIZE: String(batchSize), GATEWAYAPI_BASE_URL: silentUrl } : {}
    replicas.push({ process: spawn({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, INSTANCE_ID: `replica-${i}`, ...window }), url: `http://127.0.0.1:${port}` })
  }
  await Promise.all(replicas.map((r) => r.process.waitForLog((l) => l.msg === 'ready')))
  for (const [i, r] of replicas.entries()) {
    const res = await optimove.sendCampaign(campaignBody({ recipients: 5000, requestId: `takeover-${i}` }), { url: `${r.url}/api/v1/campaigns/send` })
    t.equal(res.status, 200, `campaign ${i} accepted by replica-${i}`)
  }
  // The first replica has a request in flight, which will never be answered: it dies now.
  await until(silent, 'held', () => held.length >= 1)
  const [dead, ...alive] = replicas
  dead!.process.child.kill('SIGKILL')
  await dead!.process.exited
  const killedAt = Date.now()
  const atKill = gateway.referenceCounts().size
  // Its claims are still leased to it, and never reached GatewayAPI: only a takeover sends them.
  const databaseUrl = await schemaUrlFor(setting.url, t.testdir())
  const orphaned = (await inspectStoreAt(databaseUrl)).messages.filter((m) => m.state === 'sending' && m.leaseOwner === 'replica-0').length
  t.ok(orphaned > 0, `the dead replica held ${orphaned} claims`)
  t.ok(atKill < 15_000, `killed with ${atKill} of 15,000 relayed`)

  await until(gateway, 'accepted', () => gateway.referenceCounts().size === 15_000)
  const finishedAt = Date.now()
  t.comment(`every message sent ${finishedAt - killedAt} ms after the kill (heartbeat every ${heartbeatMs} ms, dead after ${deadAfterMs} ms, leases of 600 s)`)
  const takeovers = alive.flatMap((r) => r.process.logs.filter((l) => l.msg === 'a replica stopped beating without handing back its claims; they are due again now'))
  t.equal(takeovers.length, 1, 'one of the others took over the dead replica\'s claims, once')
  t.match(takeovers[0], { deadInstance: 'replica-0', instance: /^replica-[12]$/ })
  t.ok(takeovers[0]!.claims > 0, `${takeovers[0]!.claims} claims taken over`)
  const takenAt = Number(takeovers[0]!.time)
  t.comment(`taken over ${takenAt - killedAt} ms after the kill`)

  for (const r of alive) r.process.child.kill('SIGTERM')
  for (const r of alive) t.same(await r.process.exited, { code: 0, signal: null }, 'a replica stopped gracefully')
  const stored = await inspectStoreAt(databaseUrl)
  t.equal(stored.messages.length, 15_000)
  t.ok(stored.messages.every((m) => m.state === 'submitted'), 'every message recorded as submitted: none lost, none still leased')
  t.same(stored.instances, [], 'the dead replica forgotten, the others retired')
  const duplicates = gateway.accepted.length - gateway.referenceCounts().size
  t.comment(`sent twice: ${duplicates} (the dead replica's in-flight window: ${concurrency * batchSize})`)
  t.ok(duplicates <= concurrency * batchSize, `duplicates (${duplicates}) within its SEND_CONCURRENCY x SEND_BATCH_SIZE`)
})
