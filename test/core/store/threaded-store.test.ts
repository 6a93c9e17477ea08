import t from 'tap'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import { campaignBody, startStack, until } from '../../helper.js'
import { readDatabase } from './sqlite-rows.js'

const batch = { registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{"a":1}', scheduledAt: 1000, receivedAt: 1000 }
const messages = Array.from({ length: 3 }, (_, i) => ({ mobileNumber: `452000000${i}`, customerId: `c${i}`, text: `t${i}` }))

t.test('the store on its own thread keeps the adapter\'s contract, call for call', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = await openThreadedStore({ path })
  t.same(await store.acceptCampaign(batch, messages), { duplicate: false, conflict: false, accepted: 3, rejected: 0 })
  t.same(await store.acceptCampaign(batch, messages), { duplicate: true, conflict: false, accepted: 3, rejected: 0 })
  const claimed = await store.claimDue(2000, 10, 60_000)
  t.same(claimed.map((m) => [m.msisdn, m.senderId, m.attempts]), [['4520000000', 'Brand', 1], ['4520000001', 'Brand', 1], ['4520000002', 'Brand', 1]])
  await store.markSubmitted(claimed.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `P${m.id}` })), 2001)
  const recorded = await Promise.all(claimed.map((m, i) => store.recordWebhookEvent({
    kind: 'status', eventId: `e${i}`, eventType: 'message.status.sms', receivedAt: 3000, reference: m.reference, providerMessageId: null, status: 'DELIVERED', statusAt: 2500, outcome: 'delivered'
  })))
  t.same(recorded, ['new', 'new', 'new'], 'concurrent events share the worker\'s group commit')
  t.equal(await store.nextDueAt(), undefined)
  t.match(await store.stats(), { messages: { final: 3 }, reports: { pending: 3 } })
  await store.close()
  await store.close()
  t.same(readDatabase(path).messages.map((m) => m.state), ['final', 'final', 'final'], 'durable on disk')
  await t.rejects(store.ping(), /not open/, 'a closed store refuses calls')
})

t.test('errors inside the worker come back as rejections', async (t) => {
  const store = await openThreadedStore({ path: `${t.testdir()}/bridge.db` })
  t.teardown(() => store.close())
  await t.rejects(store.settleOutbox('nope' as never, { done: ['1'] }, 0), { name: 'TypeError', message: /done/ })
  await store.ping()
  t.pass('the store still answers afterwards')
})

t.test('the whole loop with STORE_THREAD=true', async (t) => {
  const { gateway, service, optimove, dbPath, sendCampaign } = await startStack(t, { STORE_THREAD: 'true' })
  t.match((await sendCampaign(campaignBody({ recipients: 50 }))).body, { accepted: 50 })
  await gateway.waitForAccepted(50)
  await until(service.dispatcher, 'settled', () => readDatabase(dbPath).messages.every((m) => m.state === 'submitted'))
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  await until(service.reports, 'settled', () => optimove.received('delivery-report').length === 50)
  t.equal(new Set(optimove.received('delivery-report').map((c) => (c.body as { messageId: string }).messageId)).size, 50)
})
