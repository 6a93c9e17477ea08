import t from 'tap'
import { CONTRACT_ADAPTERS } from './adapters.js'
import type { Store, WebhookEvent } from '../../../src/core/store/store.js'

// recordWebhookEvent through the store's interface only: what a caller sees is the answer, the
// reports and replies it queued, and the messages' states.

const batch = { registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 }

/** One campaign of `n` messages, all claimed and submitted as `gw-<i>`; their references come back. */
async function submitted (store: Store, n: number): Promise<string[]> {
  await store.acceptCampaign(batch, Array.from({ length: n }, (_, i) => ({ mobileNumber: `451000000${i}`, customerId: `c${i}`, text: 'hi' })))
  const claimed = await store.claimDue(1000, n, 60_000)
  await store.markSubmitted(claimed.map((m, i) => ({ id: m.id, attempt: m.attempts, providerMessageId: `gw-${i}` })), 1001)
  return claimed.map((m) => m.reference)
}

const status = (eventId: string, fields: Partial<WebhookEvent & { kind: 'status' }>): WebhookEvent => ({
  kind: 'status', eventId, eventType: 'message.status_updated', receivedAt: 5000, reference: null, providerMessageId: null, status: 'DELIVERED', statusAt: 4000, outcome: 'delivered', ...fields
} as WebhookEvent)

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a final status ends its message once and queues one report with its facts`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const [ref] = await submitted(store, 1)

    t.equal(await store.recordWebhookEvent(status('e1', { reference: ref!, status: 'UNDELIVERABLE', outcome: 'undeliverable', statusAt: 4000, error: { code: '0x0215', details: 'blacklisted' } })), 'new')
    t.equal(await store.recordWebhookEvent(status('e1', { reference: ref!, status: 'UNDELIVERABLE', outcome: 'undeliverable' })), 'duplicate', 'a replayed event id')
    t.equal(await store.recordWebhookEvent(status('e2', { reference: ref!, status: 'DELIVERED', outcome: 'delivered' })), 'new', 'a later final status joins the history')

    const reports = await store.claimReports(6000, 10, 60_000)
    t.equal(reports.length, 1, 'one report for one message, whatever came after its first final status')
    t.match(reports[0], { reference: ref, outcome: 'undeliverable', statusAt: 4000, error: { code: '0x0215', details: 'blacklisted' }, providerMessageId: 'gw-0', customerId: 'c0', batchId: 'b', requestId: 'q' })
    t.same((await store.stats()).messages, { queued: 0, sending: 0, submitted: 0, final: 1, failed: 0 })
  })

  t.test(`${name}: a status found by provider id when its reference is absent or unknown`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const refs = await submitted(store, 2)

    t.equal(await store.recordWebhookEvent(status('e1', { providerMessageId: 'gw-1' })), 'new')
    t.equal(await store.recordWebhookEvent(status('e2', { reference: 'no-such-reference', providerMessageId: 'gw-0', outcome: 'expired', status: 'EXPIRED' })), 'new')
    const reports = await store.claimReports(6000, 10, 60_000)
    t.same(reports.map((r) => [r.reference, r.outcome]).sort(), [[refs[0], 'expired'], [refs[1], 'delivered']])
  })

  t.test(`${name}: a final status without an error reports none; a status that is not final reports nothing`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const [a, b] = await submitted(store, 2)

    t.equal(await store.recordWebhookEvent(status('e1', { reference: a!, status: 'ENROUTE', outcome: undefined })), 'new')
    t.same(await store.claimReports(6000, 10, 60_000), [], 'ENROUTE ends nothing')
    t.same((await store.stats()).messages.submitted, 2)
    await store.recordWebhookEvent(status('e2', { reference: b! }))
    const [report] = await store.claimReports(6000, 10, 60_000)
    t.equal(report?.reference, b)
    t.equal(report?.error, null, 'no error code or details')
  })

  t.test(`${name}: an error code without details, and details without a code, are reported as given`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const [a, b] = await submitted(store, 2)
    await store.recordWebhookEvent(status('e1', { reference: a!, status: 'REJECTED', outcome: 'rejected', error: { code: '0x0A01', details: null } }))
    await store.recordWebhookEvent(status('e2', { reference: b!, status: 'REJECTED', outcome: 'rejected', error: { code: null, details: 'refused by the network' } }))
    const reports = await store.claimReports(6000, 10, 60_000)
    t.same(reports.map((r) => [r.reference, r.error]).sort(), [[a, { code: '0x0A01', details: null }], [b, { code: null, details: 'refused by the network' }]].sort())
  })

  t.test(`${name}: an event for no message we know is remembered as such, and its replay is a duplicate`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await submitted(store, 1)
    t.equal(await store.recordWebhookEvent(status('e1', { reference: 'nobody', providerMessageId: 'gw-99' })), 'unknown-message')
    t.equal(await store.recordWebhookEvent(status('e1', { reference: 'nobody', providerMessageId: 'gw-99' })), 'duplicate')
    t.equal(await store.recordWebhookEvent(status('e2', {})), 'unknown-message', 'neither reference nor provider id')
    t.same(await store.claimReports(6000, 10, 60_000), [])
  })

  t.test(`${name}: a message we already failed is not ended again by a status`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, [{ mobileNumber: '4510000000', customerId: 'c0', text: 'hi' }])
    const [claimed] = await store.claimDue(1000, 1, 60_000)
    await store.fail([{ id: claimed!.id, attempt: claimed!.attempts, outcome: 'send-timeout', reason: 'gave up' }], 2000)
    t.equal(await store.recordWebhookEvent(status('e1', { reference: claimed!.reference })), 'new')
    const reports = await store.claimReports(6000, 10, 60_000)
    t.same(reports.map((r) => r.outcome), ['send-timeout'], 'the failure\'s report only')
  })

  t.test(`${name}: a reply is queued once for each registration it belongs to; its replay queues nothing`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const reply: WebhookEvent = { kind: 'inbound', eventId: 'm1', eventType: 'user-message.text.sms', receivedAt: 5000, from: '4510000000', text: 'STOP', sentAt: 4000, routes: [{ registrationId: 'r1', to: 'Brand' }, { registrationId: 'r2', to: '1204' }] }
    t.equal(await store.recordWebhookEvent(reply), 'new')
    t.equal(await store.recordWebhookEvent(reply), 'duplicate')
    const queued = await store.claimIncoming(5000, 10, 60_000)
    t.same(queued.map(({ registrationId, from, to, text, sentAt }) => ({ registrationId, from, to, text, sentAt })).sort((x, y) => x.registrationId.localeCompare(y.registrationId)), [
      { registrationId: 'r1', from: '4510000000', to: 'Brand', text: 'STOP', sentAt: 4000 },
      { registrationId: 'r2', from: '4510000000', to: '1204', text: 'STOP', sentAt: 4000 }
    ], 'due at once, one per registration')
  })

  t.test(`${name}: an unusable event is remembered once`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const unusable: WebhookEvent = { kind: 'unusable', eventId: 'u1', eventType: 'message.unheard_of', receivedAt: 5000, reason: 'unknown event type', raw: '{"type":"message.unheard_of"}' }
    t.equal(await store.recordWebhookEvent(unusable), 'new')
    t.equal(await store.recordWebhookEvent(unusable), 'duplicate')
    t.equal(await store.recordWebhookEvent({ ...unusable, kind: 'unusable', eventId: 'u2' }), 'new')
  })
}
