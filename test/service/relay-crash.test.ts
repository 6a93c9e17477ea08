import t from 'tap'
import { campaignBody, childStack, inspectStoreAt, until } from '../helper.js'

t.test('SIGKILL in the middle of relaying 20,000 messages: after restart none is lost, duplicates bounded', async (t) => {
  const concurrency = 4
  const batchSize = 500
  const { optimove, gateway, dbPath, spawn } = await childStack(t, {
    SEND_CONCURRENCY: String(concurrency),
    SEND_BATCH_SIZE: String(batchSize),
    // A short lease, so that the restarted process takes over the dead one's claims quickly;
    // the timeout generous, so that a busy test machine does not cause resends of its own.
    SEND_LEASE_SECONDS: '6',
    SEND_TIMEOUT_MS: '3000'
  })
  // Slow enough that the kill lands mid-relay.
  gateway.latencyMs = 25

  const first = spawn()
  await first.waitForLog((l) => l.msg === 'ready')
  for (const requestId of ['crash-a', 'crash-b']) {
    const res = await optimove.sendCampaign(campaignBody({ recipients: 10_000, requestId }))
    t.equal(res.status, 200)
  }
  await until(gateway, 'accepted', () => gateway.accepted.length >= 4000)
  first.child.kill('SIGKILL')
  await first.exited
  const atKill = gateway.referenceCounts().size
  t.ok(atKill < 20_000, `killed with ${atKill} of 20,000 relayed`)

  const second = spawn()
  await until(gateway, 'accepted', () => gateway.referenceCounts().size === 20_000)
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })

  const { messages } = await inspectStoreAt(dbPath)
  t.equal(messages.length, 20_000)
  const counts = gateway.referenceCounts()
  t.ok(messages.every((m) => (counts.get(m.reference) ?? 0) >= 1), 'every stored message reached GatewayAPI at least once')
  // Messages the dead process had in flight may have arrived while their lease still runs:
  // they stay leased (and would be sent again once it ends); none is queued, failed or lost.
  const leased = messages.filter((m) => m.state === 'sending').length
  t.ok(messages.every((m) => m.state === 'submitted' || m.state === 'sending'), 'every message is recorded as submitted, or still leased')
  t.ok(leased <= concurrency * batchSize, `${leased} still leased, within the in-flight window`)
  const duplicates = gateway.accepted.length - counts.size
  t.comment(`sent twice after the crash: ${duplicates} (in-flight window ${concurrency * batchSize})`)
  t.ok(duplicates <= concurrency * batchSize, `duplicates (${duplicates}) within SEND_CONCURRENCY x SEND_BATCH_SIZE`)
})
