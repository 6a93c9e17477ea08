import t, { type Test } from 'tap'
import { announcingStore } from '../../../src/core/store/announcing-store.js'
import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import type { Store, WebhookEvent } from '../../../src/core/store/store.js'
import { WorkNotifier } from '../../../src/core/work-notifier.js'

function setup (t: Test): { store: Store; heard: string[] } {
  const notifier = new WorkNotifier()
  const heard: string[] = []
  notifier.on('messagesDue', (registration) => heard.push(`messagesDue ${registration ?? '*'}`))
  notifier.on('reportsQueued', (registration) => heard.push(`reportsQueued ${registration ?? '*'}`))
  notifier.on('repliesQueued', () => heard.push('repliesQueued'))
  const store = announcingStore(openSqliteStore({ path: `${t.testdir()}/bridge.db` }), notifier)
  t.teardown(() => store.close())
  return { store, heard }
}

const batch = (key: string) => ({ registrationId: 'r1', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 })
const usable = { mobileNumber: '4510000000', customerId: 'c', text: 'hi' }
const unusable = { mobileNumber: 'x', customerId: 'c', text: 'hi', failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } }

t.test('a campaign announces its messages, and the reports of its unusable recipients; a duplicate announces nothing', async (t) => {
  const { store, heard } = setup(t)
  await store.acceptCampaign(batch('a'), [usable])
  t.same(heard.splice(0), ['messagesDue r1'])
  await store.acceptCampaign(batch('b'), [unusable])
  t.same(heard.splice(0), ['reportsQueued r1'], 'nothing to send, one report')
  await store.acceptCampaign(batch('a'), [usable])
  t.same(heard.splice(0), [], 'a duplicate')
})

t.test('failures, final statuses and the sweep announce reports; replies announce replies; replays and other events nothing', async (t) => {
  const { store, heard } = setup(t)
  await store.acceptCampaign(batch('a'), [usable, { ...usable, mobileNumber: '4510000001' }])
  heard.length = 0
  const [first, second] = await store.claimDue(1000, 2, 60_000)
  await store.fail([{ id: first!.id, attempt: first!.attempts, outcome: 'provider-rejected', reason: 'refused' }], 2000)
  t.same(heard.splice(0), ['reportsQueued *'], 'a failure')
  await store.fail([], 2000)
  t.same(heard.splice(0), [], 'nothing failed')

  await store.markSubmitted([{ id: second!.id, attempt: second!.attempts, providerMessageId: 'gw-1' }], 2000)
  const status = (eventId: string, outcome?: 'delivered'): WebhookEvent => ({ kind: 'status', eventId, eventType: 'message.status_updated', receivedAt: 3000, reference: second!.reference, providerMessageId: 'gw-1', status: outcome === undefined ? 'ENROUTE' : 'DELIVERED', statusAt: 3000, ...(outcome === undefined ? {} : { outcome }) })
  await store.recordWebhookEvent(status('e1'))
  t.same(heard.splice(0), [], 'a status that ends nothing')
  await store.recordWebhookEvent(status('e2', 'delivered'))
  t.same(heard.splice(0), ['reportsQueued *'], 'a final status')
  await store.recordWebhookEvent(status('e2', 'delivered'))
  t.same(heard.splice(0), [], 'its replay')

  const reply: WebhookEvent = { kind: 'inbound', eventId: 'm1', eventType: 'user-message.text.sms', receivedAt: 3000, from: '4510000001', text: 'STOP', sentAt: 3000, routes: [{ registrationId: 'r1', to: 'Brand' }] }
  await store.recordWebhookEvent(reply)
  t.same(heard.splice(0), ['repliesQueued'], 'a reply')
  await store.recordWebhookEvent(reply)
  t.same(heard.splice(0), [], 'its replay')
  await store.recordWebhookEvent({ kind: 'unusable', eventId: 'u1', eventType: 'x', receivedAt: 3000, reason: 'unknown', raw: '{}' })
  t.same(heard.splice(0), [], 'an unusable event')
})

t.test('the final-status sweep announces the reports of what it ended, and only then', async (t) => {
  const { store, heard } = setup(t)
  await store.acceptCampaign(batch('a'), [usable])
  const [claimed] = await store.claimDue(1000, 1, 60_000)
  await store.markSubmitted([{ id: claimed!.id, attempt: claimed!.attempts, providerMessageId: 'gw-1' }], 2000)
  heard.length = 0
  t.equal(await store.endUnconfirmed([], 1000, 5000), 0)
  t.same(heard.splice(0), [], 'nothing ended')
  t.equal(await store.endUnconfirmed([], 3000, 5000), 1)
  t.same(heard.splice(0), ['reportsQueued *'])
})
