import t from 'tap'
import { request } from 'undici'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'

/** `name{a="x",b="y"} 3` lines → a lookup by name and labels. */
async function scrape (url: string): Promise<(name: string, labels?: Record<string, string>) => number> {
  const res = await request(`${url}/metrics`)
  const text = await res.body.text()
  const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
    return { name: m[1]!, labels, value: Number(m[3]) }
  })
  return (name, labels = {}) => samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

t.test('/metrics after a demo-sized run matches what the simulators recorded', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_BATCH_SIZE: '250' })
  const body = campaignBody({ recipients: 1000 })
  ;(body.recipients as Array<{ mobileNumber: string }>)[5]!.mobileNumber = 'nope'
  ;(body.recipients as Array<{ mobileNumber: string }>)[6]!.mobileNumber = '12'
  gateway.script({ status: 500 }, { status: 429, headers: { 'retry-after': '0' } })
  optimove.script('delivery-report', { status: 500 }, { status: 503 }, { status: 500 })
  await sendCampaign(body)
  await sendCampaign(body)
  await (await request(`${service.url}/api/v1/campaigns/send`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).body.dump()
  await gateway.waitForAccepted(998)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.filter((m) => m.state === 'submitted').length === 998)
  let events = 0
  for (const [i, m] of gateway.accepted.entries()) {
    await gateway.postWebhook(gateway.statusEvent(m, i % 100 === 0 ? 'EXPIRED' : 'DELIVERED'))
    events++
  }
  const replay = gateway.statusEvent(gateway.accepted[0]!, 'DELIVERED')
  await gateway.postWebhook(replay)
  await gateway.postWebhook(replay)
  await gateway.postWebhook(gateway.replyEvent(4520000001, 'STOP'))
  await gateway.postWebhook(replay, { signature: 'v1=' + 'f'.repeat(64) })
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.filter((r) => r.state === 'done').length === 1000)
  // Settled in the store, not only received by Optimove: the metrics count settlements.
  await until(service.replies, 'settled', async () => (await service.store.stats()).incoming.done === 1)

  const metric = await scrape(service.adminUrl)
  const reportCalls = optimove.received('delivery-report')
  t.equal(metric('bridge_campaigns_total', { outcome: 'accepted' }), 1)
  t.equal(metric('bridge_campaigns_total', { outcome: 'duplicate' }), 1)
  t.equal(metric('bridge_campaign_messages_total', { outcome: 'accepted' }), gateway.referenceCounts().size)
  t.equal(metric('bridge_campaign_messages_total', { outcome: 'rejected' }), 2)
  t.equal(metric('bridge_campaign_refusals_total', { reason: 'unauthorized' }), 1)
  t.equal(metric('bridge_provider_requests_total', { outcome: 'sent' }), gateway.requestCounts.get('202'))
  t.equal(metric('bridge_provider_requests_total', { outcome: 'transient' }), gateway.requestCounts.get('500'))
  t.equal(metric('bridge_provider_requests_total', { outcome: 'throttled' }), gateway.requestCounts.get('429'))
  t.equal(metric('bridge_provider_messages_total', { outcome: 'sent' }), gateway.accepted.length)
  t.equal(metric('bridge_provider_request_duration_seconds_count'), gateway.requestLog.length)
  t.equal(metric('bridge_webhook_events_total', { outcome: 'recorded' }), events + 2, 'status events, the replay\'s first copy and the reply')
  t.equal(metric('bridge_webhook_events_total', { outcome: 'duplicate' }), 1)
  t.equal(metric('bridge_webhook_events_total', { outcome: 'signature-refused' }), 1)
  t.equal(metric('bridge_outbox_deliveries_total', { outbox: 'reports', outcome: 'done' }), reportCalls.filter((c) => c.status === 200).length)
  t.equal(metric('bridge_outbox_deliveries_total', { outbox: 'reports', outcome: 'retry' }), reportCalls.filter((c) => c.status >= 500).length)
  t.equal(metric('bridge_outbox_deliveries_total', { outbox: 'incoming', outcome: 'done' }), optimove.received('incoming-message').length)
  t.equal(metric('bridge_outbox_rows', { outbox: 'reports', state: 'done' }), 1000)
  t.equal(metric('bridge_messages', { state: 'final' }), 998)
  t.equal(metric('bridge_messages', { state: 'failed' }), 2)
  t.equal(metric('bridge_messages', { state: 'queued' }), 0, 'the dispatcher queue is empty')
  t.equal(metric('bridge_dispatcher_halted'), 0)
  // A 500 and a 429 cut the limit below SEND_CONCURRENCY (8); fast answers raise it again.
  t.equal(metric('bridge_dispatcher_concurrency_limit'), service.dispatcher.state().concurrencyLimit, 'the adaptive limit, as the dispatcher holds it')
  t.ok(service.dispatcher.state().concurrencyLimit < 8, 'cut by the 500 and the 429')
  t.equal(metric('bridge_handshake_state', { registration: 'default', state: 'registered' }), 1)
})
