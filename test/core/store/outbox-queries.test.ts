import t from 'tap'
import { OUTBOX_ROW_OVERHEAD_BYTES } from '../../../src/core/store/outbox-weight.js'
import { CONTRACT_ADAPTERS } from './adapters.js'
import type { Store, WebhookEvent } from '../../../src/core/store/store.js'

// The outboxes and the relay's claims through the store's interface only: what is claimed,
// in which order, how many, and what each settlement does to a row's future.

const batch = { registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 }
const unusable = (n: number) => Array.from({ length: n }, (_, i) => ({ mobileNumber: `bad-${i}`, customerId: `c${i}`, text: 't', failure: { outcome: 'invalid-recipient' as const, reason: `bad number ${i}` } }))
const reply = (i: number, text: string, receivedAt = 1000): WebhookEvent => ({ kind: 'inbound', eventId: `m${i}`, eventType: 'user-message.text.sms', receivedAt, from: `451000000${i}`, text, sentAt: receivedAt, routes: [{ registrationId: 'r', to: 'Brand' }] })

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: settled rows: done never again, retried at their time, parked never again`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, unusable(3))
    const [a, b, c] = await store.claimReports(2000, 10, 60_000)
    await store.settleOutbox('reports', { done: [a!.id] }, 2100)
    await store.settleOutbox('reports', { retry: [{ id: b!.id, at: 5000 }], error: 'HTTP 503' }, 2100)
    await store.settleOutbox('reports', { parked: [c!.id], error: 'HTTP 400' }, 2100)
    t.same((await store.stats()).reports, { pending: 1, sending: 0, done: 1, parked: 1 })

    t.same(await store.claimReports(4999, 10, 60_000), [], 'nothing due before the retry time')
    const again = await store.claimReports(5000, 10, 60_000)
    t.same(again.map((r) => [r.id, r.attempts]), [[b!.id, 2]], 'the retried row, at its time, its second attempt')
    await store.settleOutbox('reports', { done: [b!.id] }, 5100)
    t.same(await store.claimReports(1e12, 10, 60_000), [], 'done and parked rows never come back')
  })

  t.test(`${name}: a settlement of a row no longer leased changes nothing`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, unusable(1))
    const [row] = await store.claimReports(2000, 10, 60_000)
    await store.settleOutbox('reports', { done: [row!.id] }, 2100)
    await store.settleOutbox('reports', { retry: [{ id: row!.id, at: 3000 }], error: 'late' }, 2200)
    await store.settleOutbox('reports', { parked: [row!.id], error: 'late' }, 2200)
    t.same((await store.stats()).reports, { pending: 0, sending: 0, done: 1, parked: 0 })
  })

  t.test(`${name}: replies settle the same way`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    for (let i = 0; i < 3; i++) await store.recordWebhookEvent(reply(i, `text ${i}`))
    const [a, b, c] = await store.claimIncoming(2000, 10, 60_000)
    await store.settleOutbox('incoming', { done: [a!.id], retry: [{ id: b!.id, at: 3000 }], parked: [c!.id], error: 'x' }, 2100)
    t.same((await store.stats()).incoming, { pending: 1, sending: 0, done: 1, parked: 1 })
    t.same((await store.claimIncoming(3000, 10, 60_000)).map((r) => r.text), ['text 1'])
  })

  t.test(`${name}: expired leases come first, and a claim never exceeds its limit`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, unusable(4))
    const [first] = await store.claimReports(2000, 1, 1000)
    // At 3500 the first row's lease (to 3000) has run out: it comes back before the pending ones.
    const claimed = await store.claimReports(3500, 2, 60_000)
    t.equal(claimed.length, 2, 'two rows, the limit')
    t.same([claimed[0]!.id, claimed[0]!.attempts], [first!.id, 2], 'the expired lease first, its second attempt')
    t.equal(claimed[1]!.attempts, 1, 'then the oldest pending row')
  })

  t.test(`${name}: a claim takes rows up to exactly its byte budget`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const text = 'y'.repeat(1000)
    for (let i = 0; i < 3; i++) await store.recordWebhookEvent(reply(i, text))
    const weight = OUTBOX_ROW_OVERHEAD_BYTES + text.length
    t.equal((await store.claimIncoming(2000, 10, 60_000, 2 * weight)).length, 2, 'two rows that fill the budget exactly')
    t.equal((await store.claimIncoming(2000, 10, 60_000, weight - 1)).length, 1, 'at least one row, however small the budget')
  })

  t.test(`${name}: a report carries its error as given: a code, details, both or neither`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, [{ mobileNumber: '4510000000', customerId: 'c0', text: 'hi' }, { mobileNumber: '4510000001', customerId: 'c1', text: 'hi' }])
    const [x, y] = await store.claimDue(1000, 2, 60_000)
    await store.fail([
      { id: x!.id, attempt: x!.attempts, outcome: 'provider-rejected', reason: 'MSISDN blacklisted', errorCode: '0x0215' },
      { id: y!.id, attempt: y!.attempts, outcome: 'provider-rejected', reason: 'refused' }
    ], 2000)
    const reports = await store.claimReports(2000, 10, 60_000)
    t.same(reports.map((r) => [r.customerId, r.error]).sort(), [
      ['c0', { code: '0x0215', details: 'MSISDN blacklisted' }],
      ['c1', { code: null, details: 'refused' }]
    ])
  })

  t.test(`${name}: the relay's claim takes expired leases first and never exceeds its limit`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, Array.from({ length: 4 }, (_, i) => ({ mobileNumber: `451000000${i}`, customerId: `c${i}`, text: 'hi' })))
    const [first] = await store.claimDue(1000, 1, 1000)
    const claimed = await store.claimDue(2500, 2, 60_000)
    t.equal(claimed.length, 2)
    t.same([claimed[0]!.id, claimed[0]!.attempts], [first!.id, 2])
    t.match(claimed, [{ registrationId: 'r', senderId: 'Brand', dueSince: 1000 }, { registrationId: 'r', senderId: 'Brand', dueSince: 1000 }], 'each with its batch\'s facts')
  })
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a late answer to a claim whose lease ran out changes nothing; the newer claim settles`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, [{ mobileNumber: '4510000000', customerId: 'c0', text: 'hi' }])
    const [old] = await store.claimDue(1000, 1, 1000)
    const [renewed] = await store.claimDue(2500, 1, 60_000)
    t.equal(renewed?.attempts, 2, 'claimed again once the first lease ran out')

    await store.markSubmitted([{ id: old!.id, attempt: old!.attempts, providerMessageId: 'late' }], 2600)
    await store.reschedule([{ id: old!.id, attempt: old!.attempts, at: 9000 }], 'late', 2600)
    await store.fail([{ id: old!.id, attempt: old!.attempts, outcome: 'send-timeout', reason: 'late' }], 2600)
    t.same((await store.stats()).messages, { queued: 0, sending: 1, submitted: 0, final: 0, failed: 0 }, 'the late answers changed nothing')
    t.same(await store.claimReports(2600, 10, 60_000), [], 'and queued no report')

    await store.reschedule([{ id: renewed!.id, attempt: renewed!.attempts, at: 3000 }], 'HTTP 503', 2700, { refundAttempt: true })
    t.equal(await store.nextDueAt(), 3000, 'the newer claim settles')
    const [third] = await store.claimDue(3000, 1, 60_000)
    t.equal(third?.attempts, 2, 'its attempt refunded')
    await store.markSubmitted([{ id: third!.id, attempt: third!.attempts, providerMessageId: 'gw-1' }], 3100)
    t.same((await store.stats()).messages.submitted, 1)
    t.equal(await store.nextDueAt(), undefined, 'nothing waits')
  })

  t.test(`${name}: a message still queued may be failed without a claim; one already ended may not`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch, [{ mobileNumber: '4510000000', customerId: 'c0', text: 'hi' }])
    const [claimed] = await store.claimDue(1000, 1, 60_000)
    await store.reschedule([{ id: claimed!.id, attempt: claimed!.attempts, at: 5000 }], 'HTTP 503', 1100)
    await store.fail([{ id: claimed!.id, outcome: 'send-timeout', reason: 'too old' }], 1200)
    await store.fail([{ id: claimed!.id, outcome: 'provider-rejected', reason: 'again' }], 1300)
    t.same((await store.claimReports(2000, 10, 60_000)).map((r) => r.outcome), ['send-timeout'], 'one report, the first failure\'s')
  })
}
