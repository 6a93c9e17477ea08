import t from 'tap'
import { request } from 'undici'
import { campaignBody, startStack, until } from '../helper.js'

// The opt-out safety net: a STOP reply keeps the campaign messages still waiting for its number
// from being sent (reported Failed/OptedOut), after the reply itself went on to Optimove; START lifts it.

const TOKEN = 'admin-token-for-tests-0123456789'

async function admin (adminUrl: string, command: string, params: Record<string, unknown>): Promise<number> {
  const res = await request(`${adminUrl}/admin/v1/${command}`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(params)
  })
  await res.body.dump()
  return res.statusCode
}

t.test('a STOP reply suppresses the queued rest of a campaign to that number (Failed/OptedOut); START lifts it', async (t) => {
  const { optimove, gateway, service, sendCampaign } = await startStack(t, { ADMIN_TOKEN: TOKEN, INBOUND_TO: 'Brand' })
  const reports = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => c.body as any)
  const replies = () => optimove.received('incoming-message').flatMap((c) => (c.body as any).messages as Array<{ text?: string; message?: string }>)
  // Held back by a pause, the campaign's messages are queued when the STOP comes.
  t.equal(await admin(service.adminUrl, 'pause', { registration: 'default' }), 200)
  t.match((await sendCampaign(campaignBody({ recipients: 3 }))).body, { accepted: 3 })
  t.same(await gateway.postWebhook(gateway.replyEvent(4520000001, 'Stop')), { status: 200, body: { status: 'recorded' } })
  await until(service.replies, 'settled', () => replies().length === 1)
  t.equal(await admin(service.adminUrl, 'resume', { registration: 'default' }), 200)

  await gateway.waitForAccepted(2)
  await until(service.reports, 'settled', () => reports().length === 1)
  t.same(gateway.accepted.map((m) => m.recipient).sort(), [4520000000, 4520000002], 'the two other numbers are sent')
  t.match(reports(), [{ type: { status: 'Failed', subStatus: 'OptedOut' }, mobileNumber: '+45 20000001', customerId: 'customer-1' }], 'the STOP number\'s message is reported opted out')

  t.same(await gateway.postWebhook(gateway.replyEvent(4520000001, 'START')), { status: 200, body: { status: 'recorded' } })
  await until(service.replies, 'settled', () => replies().length === 2)
  t.match((await sendCampaign(campaignBody({ recipients: 2, batchId: 'batch-2', requestId: 'request-2' }))).body, { accepted: 2 })
  await gateway.waitForAccepted(4)
  t.same(gateway.accepted.slice(2).map((m) => m.recipient).sort(), [4520000000, 4520000001], 'after START the number is sent to again')
  t.equal(reports().length, 1, 'no other message was opted out')
})
