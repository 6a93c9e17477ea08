import t from 'tap'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { gatewayEnvelope } from '../../src/sim/gatewayapi-events.js'
import { campaignBody, childStack, until } from '../helper.js'

t.test('the real service in a zone that is not UTC reads zone-less times as UTC: envelope, status_at and sent_at', async (t) => {
  // New York is behind UTC: read as local, "now" without a zone would be hours in the future and refused.
  const { optimove, gateway, spawn, url } = await childStack(t, { TZ: 'America/New_York', SEND_IDLE_POLL_MS: '50', REPORT_IDLE_POLL_MS: '50' })
  const service = spawn()
  await service.waitForLog((l) => l.msg === 'ready')
  t.equal((await optimove.sendCampaign(campaignBody({ recipients: 1 }), { url: `${url}${CAMPAIGN_SEND_PATH}` })).status, 200)
  await gateway.waitForAccepted(1)
  const m = gateway.accepted[0]!
  // The message is stored before it is sent: its status is taken even if the relay's commit is still to come.

  const zoneless = (d: Date) => d.toISOString().slice(0, 23)
  const now = new Date()
  const status = gatewayEnvelope('message.status.sms', { msg_id: m.msg_id, recipient: m.recipient, reference: m.reference, status: 'DELIVERED', status_at: '2026-01-02T03:04:05.678', error: null }, { timestamp: zoneless(now) })
  t.same(await gateway.postWebhook(status), { status: 200, body: { status: 'recorded' } }, 'a zone-less envelope time of now is now, not hours ahead')
  const reply = gatewayEnvelope('user-message.text.sms', { sender: 4520000001, sent_at: '2026-03-04T05:06:07', content: { message: 'STOP' } }, { timestamp: zoneless(now) })
  t.same(await gateway.postWebhook(reply), { status: 200, body: { status: 'recorded' } })
  const future = gatewayEnvelope('user-message.text.sms', { sender: 4520000001, content: { message: 'x' } }, { timestamp: zoneless(new Date(now.getTime() + 10 * 60_000)) })
  t.equal((await gateway.postWebhook(future)).status, 400, 'ten minutes ahead in UTC is still refused')

  await until(optimove, 'call', () => optimove.received('delivery-report').length === 1 && optimove.received('incoming-message').length === 1)
  t.equal((optimove.received('delivery-report')[0]!.body as any).statusAt, '2026-01-02T03:04:05.678Z')
  t.same((optimove.received('incoming-message')[0]!.body as any).messages, [{ to: 'Brand', from: '4520000001', message: 'STOP', sentAt: '2026-03-04T05:06:07' }])
})
