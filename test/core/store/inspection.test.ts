import t from 'tap'
import { CONTRACT_ADAPTERS } from './adapters.js'

// What an operator reads of the store, through its interface: every row in our words, in the
// order stored, the same from every adapter.

const batch = { registrationId: 'tenant', idempotencyKey: 'key-1', batchId: 'batch-1', requestId: 'request-1', senderId: 'Brand', metadataJson: '{"campaign": 7 }', scheduledAt: 1000, receivedAt: 900 }
const messages = [
  { mobileNumber: '4512345678', givenNumber: '+45 12 34 56 78', customerId: 'c1', text: 'hello' },
  { mobileNumber: 'bad', customerId: 'c2', text: 'never sent', failure: { outcome: 'invalid-recipient' as const, reason: 'not a number' } }
]

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: batches, messages and reports as stored, then as they change`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.same(await store.inspect(), { batches: [], messages: [], reports: [], incoming: [], webhookEvents: [], recipients: [], instances: [] }, 'an empty store')
    await store.acceptCampaign(batch, messages)

    const first = await store.inspect()
    t.match(first.batches, [{ registrationId: 'tenant', idempotencyKey: 'key-1', batchId: 'batch-1', requestId: 'request-1', senderId: 'Brand', metadataJson: '{"campaign": 7 }', scheduledAt: 1000, receivedAt: 900, accepted: 1, rejected: 1 }])
    const batchId = first.batches[0]!.id
    t.match(first.messages, [
      { batchId, mobileNumber: '4512345678', givenNumber: '+45 12 34 56 78', customerId: 'c1', text: 'hello', state: 'queued', attempts: 0, leaseUntil: null, providerMessageId: null, finalOutcome: null, lastError: null },
      { batchId, mobileNumber: 'bad', givenNumber: null, customerId: 'c2', text: 'never sent', state: 'failed', attempts: 0, finalOutcome: 'invalid-recipient', lastError: 'not a number' }
    ])
    t.match(first.reports, [{ messageId: first.messages[1]!.id, registrationId: 'tenant', outcome: 'invalid-recipient', errorDetails: 'not a number', state: 'pending', attempts: 0, leaseUntil: null }])
    t.equal(typeof first.messages[0]!.reference, 'string')

    const [claimed] = await store.claimDue(2000, 10, 60_000)
    await store.claimReports(2000, 10, 30_000)
    const leased = await store.inspect()
    t.match(leased.messages[0], { id: claimed!.id, state: 'sending', attempts: 1, leaseUntil: 62_000, nextAttemptAt: 62_000 }, 'a claimed message with its lease')
    t.match(leased.reports[0], { state: 'sending', attempts: 1, leaseUntil: 32_000 }, 'a claimed report with its lease')

    await store.markSubmitted([{ id: claimed!.id, attempt: 1, providerMessageId: 'p-1' }], 3000)
    t.match((await store.inspect()).messages[0], { state: 'submitted', providerMessageId: 'p-1', leaseUntil: null, updatedAt: 3000 })
  })

  t.test(`${name}: parked: the outboxes' parked rows with their last errors, oldest first, at most \`limit\` of each`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.same(await store.parked(), { reports: [], incoming: [] }, 'none yet')
    await store.acceptCampaign(batch, [...messages, { mobileNumber: 'worse', customerId: 'c3', text: 'never sent either', failure: { outcome: 'invalid-recipient' as const, reason: 'not a number' } }])
    for (const id of ['r1', 'r2']) {
      await store.recordWebhookEvent({ kind: 'inbound', eventId: id, eventType: 'user-message.text.sms', receivedAt: 1000, routes: [{ registrationId: 'tenant', to: 'Brand' }], from: '4511', text: `reply ${id}`, sentAt: 1000 })
    }
    const [first, second] = await store.claimReports(2000, 10, 30_000)
    await store.settleOutbox('reports', { parked: [second!.id], done: [first!.id], error: 'HTTP 400: refused for good' }, 2100)
    const replies = await store.claimIncoming(2000, 10, 30_000)
    await store.settleOutbox('incoming', { parked: replies.map((r) => r.id), error: 'HTTP 410: gone' }, 2100)

    const parked = await store.parked()
    t.match(parked.reports, [{ id: second!.id, registrationId: 'tenant', outcome: 'invalid-recipient', state: 'parked', attempts: 1, lastError: 'HTTP 400: refused for good' }], 'the parked report, not the delivered one')
    t.equal(parked.reports.length, 1)
    t.match(parked.incoming, [{ text: 'reply r1', state: 'parked', lastError: 'HTTP 410: gone' }, { text: 'reply r2', state: 'parked', lastError: 'HTTP 410: gone' }])
    t.same((await store.parked({ limit: 1 })).incoming.map((r) => r.text), ['reply r1'], 'the oldest first, within the limit')
  })

  t.test(`${name}: webhook events remembered, replies queued per registration, the recipient memory`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, messages.slice(0, 1))
    const [message] = (await store.inspect()).messages
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e-status', eventType: 'message.status_updated', receivedAt: 5000, reference: message!.reference, providerMessageId: null, status: 'UNDELIVERABLE', statusAt: 4000, outcome: 'undeliverable', error: { code: '1007', details: 'no route' } })
    await store.recordWebhookEvent({ kind: 'unusable', eventId: 'e-odd', eventType: 'unknown', receivedAt: 5100, reason: 'the envelope has no event_type', raw: '{"odd":true}' })
    await store.recordWebhookEvent({ kind: 'inbound', eventId: 'e-reply', eventType: 'user-message.text.sms', receivedAt: 5200, from: '4512345678', text: 'STOP', sentAt: 5150, routes: [{ registrationId: 'tenant', to: 'Brand' }, { registrationId: 'other', to: '1204' }] })

    const seen = await store.inspect()
    t.same(seen.webhookEvents, [
      { eventId: 'e-status', eventType: 'message.status_updated', messageId: message!.id, status: 'UNDELIVERABLE', statusAt: 4000, errorCode: '1007', errorDetails: 'no route', raw: null, receivedAt: 5000 },
      { eventId: 'e-odd', eventType: 'unknown', messageId: null, status: null, statusAt: null, errorCode: null, errorDetails: 'the envelope has no event_type', raw: '{"odd":true}', receivedAt: 5100 },
      { eventId: 'e-reply', eventType: 'user-message.text.sms', messageId: null, status: null, statusAt: null, errorCode: null, errorDetails: null, raw: null, receivedAt: 5200 }
    ])
    t.match(seen.incoming, [
      { registrationId: 'tenant', from: '4512345678', to: 'Brand', text: 'STOP', sentAt: 5150, state: 'pending', attempts: 0, leaseUntil: null, lastError: null },
      { registrationId: 'other', from: '4512345678', to: '1204', text: 'STOP', sentAt: 5150, state: 'pending' }
    ])
    t.same(seen.recipients, [{ msisdn: '4512345678', registrationId: 'tenant', lastSentAt: 900 }], 'the number the campaign texted, and by whom')
    t.match(seen.messages[0], { state: 'final', finalOutcome: 'undeliverable' })
  })

  t.test(`${name}: each status joins its message's history; a retried or parked row keeps its last error`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, [messages[1]!, messages[0]!])
    const [claimed] = await store.claimDue(1000, 1, 60_000)
    await store.markSubmitted([{ id: claimed!.id, attempt: claimed!.attempts, providerMessageId: 'gw-1' }], 1100)
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 2000, reference: null, providerMessageId: 'gw-1', status: 'UNDELIVERABLE', statusAt: 1900, outcome: 'undeliverable', error: { code: '0x0A05', details: 'absent subscriber' } })
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e2', eventType: 'message.status_updated', receivedAt: 2000, reference: 'nobody', providerMessageId: null, status: 'DELIVERED', statusAt: 1900, outcome: 'delivered' })
    const [r1, r2] = await store.claimReports(3000, 10, 60_000)
    await store.settleOutbox('reports', { retry: [{ id: r1!.id, at: 9000 }], error: 'HTTP 503' }, 3100)
    await store.settleOutbox('reports', { parked: [r2!.id], error: 'HTTP 400' }, 3100)

    const seen = await store.inspect()
    t.same(seen.webhookEvents.map(({ eventId, messageId, status, errorCode, errorDetails }) => ({ eventId, messageId, status, errorCode, errorDetails })), [
      { eventId: 'e1', messageId: claimed!.id, status: 'UNDELIVERABLE', errorCode: '0x0A05', errorDetails: 'absent subscriber' },
      { eventId: 'e2', messageId: null, status: 'DELIVERED', errorCode: null, errorDetails: null }
    ])
    t.same(seen.reports.map((r) => [r.state, r.lastError, r.leaseUntil]).sort(), [['parked', 'HTTP 400', null], ['pending', 'HTTP 503', null]])
  })

  t.test(`${name}: limit bounds each list, oldest first`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, Array.from({ length: 5 }, (_, i) => ({ mobileNumber: `451234567${i}`, customerId: `c${i}`, text: `text ${i}` })))
    const { messages: listed } = await store.inspect({ limit: 2 })
    t.same(listed.map((m) => m.text), ['text 0', 'text 1'])
  })
}
