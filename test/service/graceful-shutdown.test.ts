import t from 'tap'
import { campaignBody, childStack, inspectStoreAt, until } from '../helper.js'

t.test('SIGTERM during a relay: exits within the grace period; after restart every message is delivered and reported once', async (t) => {
  const graceMs = 5000
  const { optimove, gateway, dbPath, spawn } = await childStack(t, { SEND_BATCH_SIZE: '100', SEND_CONCURRENCY: '4', SHUTDOWN_GRACE_MS: String(graceMs) })
  gateway.latencyMs = 200

  const first = spawn()
  await first.waitForLog((l) => l.msg === 'ready')
  t.equal((await optimove.sendCampaign(campaignBody({ recipients: 3000 }))).status, 200)
  await until(gateway, 'accepted', () => gateway.accepted.length >= 400)
  const signalledAt = Date.now()
  first.child.kill('SIGTERM')
  t.same(await first.exited, { code: 0, signal: null }, 'a clean exit')
  const tookMs = Date.now() - signalledAt
  t.ok(tookMs < graceMs, `stopped in ${tookMs} ms, within the ${graceMs} ms grace period`)
  t.ok(first.logs.some((l) => l.msg === 'stopped'), 'in-flight work drained before exit')
  const afterStop = (await inspectStoreAt(dbPath)).messages
  t.equal(afterStop.filter((m) => m.state === 'sending').length, 0, 'no message left in flight: every request that was sent is recorded')
  t.equal(afterStop.filter((m) => m.state === 'submitted').length, gateway.accepted.length)
  t.ok(gateway.accepted.length < 3000, `${gateway.accepted.length} sent before the stop`)

  gateway.latencyMs = 0
  const second = spawn()
  await second.waitForLog((l) => l.msg === 'ready')
  await until(gateway, 'accepted', () => gateway.referenceCounts().size === 3000)
  t.equal(gateway.accepted.length, 3000, 'each message sent exactly once across the restart')
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  const reported = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => (c.body as { messageId: string }).messageId)
  await until(optimove, 'call', () => reported().length >= 3000)
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })
  t.equal(reported().length, 3000)
  t.equal(new Set(reported()).size, 3000, 'each reported exactly once')
})
