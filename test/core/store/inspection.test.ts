import t from 'tap'
import { ADAPTERS } from './adapters.js'

// What an operator reads of the store, through its interface: every row in our words, in the
// order stored, the same from every adapter.

const batch = { registrationId: 'tenant', idempotencyKey: 'key-1', batchId: 'batch-1', requestId: 'request-1', senderId: 'Brand', metadataJson: '{"campaign": 7 }', scheduledAt: 1000, receivedAt: 900 }
const messages = [
  { mobileNumber: '4512345678', givenNumber: '+45 12 34 56 78', customerId: 'c1', text: 'hello' },
  { mobileNumber: 'bad', customerId: 'c2', text: 'never sent', failure: { outcome: 'invalid-recipient' as const, reason: 'not a number' } }
]

for (const [name, open] of ADAPTERS) {
  t.test(`${name}: batches, messages and reports as stored, then as they change`, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.same(await store.inspect(), { batches: [], messages: [], reports: [] }, 'an empty store')
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

  t.test(`${name}: limit bounds each list, oldest first`, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, Array.from({ length: 5 }, (_, i) => ({ mobileNumber: `451234567${i}`, customerId: `c${i}`, text: `text ${i}` })))
    const { messages: listed } = await store.inspect({ limit: 2 })
    t.same(listed.map((m) => m.text), ['text 0', 'text 1'])
  })
}
