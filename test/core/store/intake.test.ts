import t from 'tap'
import type { NewBatch, NewMessage } from '../../../src/core/store/store.js'
import { CONTRACT_ADAPTERS } from './adapters.js'

// Campaign intake against every adapter: what is stored (read through the inspection role),
// and how a key already stored is answered.

function batch (key: string, overrides: Partial<NewBatch> = {}): NewBatch {
  return { registrationId: 'tenant-a', idempotencyKey: key, batchId: 'b', requestId: 'r', senderId: 'Brand', metadataJson: '{"campaignId":"c","x":[1]}', scheduledAt: 1000, receivedAt: 900, ...overrides }
}
function messages (n: number, failing: number[] = []): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    mobileNumber: `45200${String(i).padStart(5, '0')}`,
    customerId: `c${i}`,
    text: `text ${i}`,
    ...(failing.includes(i) ? { failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } } : {})
  }))
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: acceptCampaign: batch, messages and reports in one go; counts; verbatim metadata`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.same(await store.acceptCampaign(batch('k1'), messages(5, [1, 3])), { duplicate: false, conflict: false, accepted: 3, rejected: 2 })
    const stored = await store.inspect()
    t.same(stored.batches.map((b) => b.metadataJson), ['{"campaignId":"c","x":[1]}'])
    t.same(stored.messages.map((m) => [m.state, m.text, m.nextAttemptAt, m.createdAt, m.updatedAt]), [
      ['queued', 'text 0', 1000, 900, 900], ['failed', 'text 1', 1000, 900, 900], ['queued', 'text 2', 1000, 900, 900], ['failed', 'text 3', 1000, 900, 900], ['queued', 'text 4', 1000, 900, 900]
    ], 'in the order given, due at the scheduled time')
    t.same(stored.reports.map((r) => [r.messageId, r.outcome, r.state, r.errorCode, r.errorDetails, r.statusAt, r.nextAttemptAt]), [
      [stored.messages[1]!.id, 'invalid-recipient', 'pending', null, 'bad number', 900, 900],
      [stored.messages[3]!.id, 'invalid-recipient', 'pending', null, 'bad number', 900, 900]
    ], 'a report for each message failed at intake, due at once, in order')
    t.same(stored.recipients.map((r) => r.msisdn), ['4520000000', '4520000002', '4520000004'], 'the numbers texted, not the unusable ones')
    t.same(await store.stats(), {
      batches: 1,
      messages: { queued: 3, sending: 0, submitted: 0, final: 0, failed: 2 },
      reports: { pending: 2, sending: 0, done: 0, parked: 0 },
      incoming: { pending: 0, sending: 0, done: 0, parked: 0 }
    })
  })

  t.test(`${name}: an empty campaign is stored, so that its retry is a duplicate`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.same(await store.acceptCampaign(batch('empty'), []), { duplicate: false, conflict: false, accepted: 0, rejected: 0 })
    t.same(await store.acceptCampaign(batch('empty'), messages(2)), { duplicate: true, conflict: false, accepted: 0, rejected: 0 })
    t.match(await store.stats(), { batches: 1, messages: { queued: 0 } })
  })

  t.test(`${name}: idempotency is per registration and key; a duplicate writes nothing`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('k1'), messages(3, [0]))
    t.same(await store.acceptCampaign(batch('k1'), messages(7)), { duplicate: true, conflict: false, accepted: 2, rejected: 1 })
    t.same(await store.acceptCampaign(batch('k1', { registrationId: 'tenant-b' }), messages(1)), { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
    t.equal((await store.inspect()).messages.length, 4)
  })

  t.test(`${name}: a known key with another body is a conflict; without both hashes it is not`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('hashed', { bodyHash: 'aaa' }), messages(2))
    t.same(await store.acceptCampaign(batch('hashed', { bodyHash: 'aaa' }), messages(2)), { duplicate: true, conflict: false, accepted: 2, rejected: 0 }, 'the same body')
    t.same(await store.acceptCampaign(batch('hashed', { bodyHash: 'bbb' }), messages(3)), { duplicate: true, conflict: true, accepted: 2, rejected: 0 }, 'another body')
    t.same(await store.acceptCampaign(batch('hashed'), messages(3)), { duplicate: true, conflict: false, accepted: 2, rejected: 0 }, 'a retry without a hash')
    await store.acceptCampaign(batch('unhashed'), messages(1))
    t.same(await store.acceptCampaign(batch('unhashed', { bodyHash: 'ccc' }), messages(1)), { duplicate: true, conflict: false, accepted: 1, rejected: 0 }, 'stored without a hash')
    t.equal((await store.inspect()).messages.length, 3, 'nothing written by any duplicate')
  })

  t.test(`${name}: an older key form is a duplicate only for the same request and batch`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    // Stored by an earlier version under `request:<id>`, which covered every batch of the request.
    await store.acceptCampaign(batch('request:r', { batchId: 'b1', requestId: 'r' }), messages(2))
    await store.acceptCampaign(batch('batch:b3', { batchId: 'b3', requestId: 'other' }), messages(1, [0]))
    const retry = (batchId: string, requestId = 'r') =>
      store.acceptCampaign(batch(`${requestId}/${batchId}`, { batchId, requestId, legacyIdempotencyKeys: [`request:${requestId}`, `batch:${batchId}`] }), messages(4))
    t.same(await retry('b1'), { duplicate: true, conflict: false, accepted: 2, rejected: 0 }, 'the batch stored under the request key')
    t.same(await retry('b2'), { duplicate: false, conflict: false, accepted: 4, rejected: 0 }, 'another batch of that request is new')
    t.same(await retry('b3', 'other'), { duplicate: true, conflict: false, accepted: 0, rejected: 1 }, 'the batch stored under the batch key')
    t.same(await retry('b2'), { duplicate: true, conflict: false, accepted: 4, rejected: 0 }, 'now under its own key')
    t.same((await store.inspect()).batches.map((b) => b.idempotencyKey), ['request:r', 'batch:b3', 'r/b2'])
  })

  t.test(`${name}: references are unique across batches`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    for (let k = 0; k < 5; k++) await store.acceptCampaign(batch(`k${k}`), messages(20))
    const refs = (await store.inspect()).messages.map((m) => m.reference)
    t.equal(new Set(refs).size, 100)
    t.ok(refs.every((r) => r.length <= 40), 'fits GatewayAPI reference comfortably')
  })

  t.test(`${name}: a campaign of 10,000 recipients is stored whole, in order`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const many = messages(10_000, [17, 9_999]).map((m, i) => (i % 3 === 0 ? { ...m, givenNumber: `+${m.mobileNumber}` } : m))
    t.same(await store.acceptCampaign(batch('big'), many), { duplicate: false, conflict: false, accepted: 9_998, rejected: 2 })
    const stored = await store.inspect()
    t.equal(stored.messages.length, 10_000)
    t.ok(stored.messages.every((m, i) => m.text === `text ${i}` && m.givenNumber === (i % 3 === 0 ? `+${m.mobileNumber}` : null)), 'each message as given, in order')
    t.same(stored.reports.map((r) => r.messageId), [stored.messages[17]!.id, stored.messages[9_999]!.id])
    t.equal(stored.recipients.length, 9_998)
  })

  t.test(`${name}: texts and metadata come back exactly, whatever their characters`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const texts = ['quote \' double " backslash \\ comma , braces {} NULL', 'æøå ÆØÅ 🙂 中文', '  leading and trailing  ', '']
    const metadataJson = '{"n": 12345678901234567890, "x": 1e400, "k": 1, "k": 2, "s": "\\u00e6"}'
    await store.acceptCampaign(batch('k', { metadataJson }), texts.map((text, i) => ({ mobileNumber: `4520000000${i}`, customerId: `c\t${i}`, text })))
    const stored = await store.inspect()
    t.same(stored.messages.map((m) => [m.text, m.customerId]), texts.map((text, i) => [text, `c\t${i}`]))
    t.equal(stored.batches[0]!.metadataJson, metadataJson)
  })

  t.test(`${name}: a NUL character (U+0000) never makes a write fail: kept, or (PostgreSQL, whose text cannot hold it) written as U+FFFD`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const given = 'a\u0000b'
    const asStored = (text: string): boolean => text === given || text === 'a\uFFFDb'
    t.same(await store.acceptCampaign(batch('k', { batchId: given, requestId: given, senderId: given }), [{ mobileNumber: '4520000000', customerId: given, text: given }]),
      { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
    t.equal(await store.recordWebhookEvent({ eventId: 'e1', eventType: given, receivedAt: 1000, kind: 'unusable', reason: given, raw: given }), 'new')
    t.equal(await store.recordWebhookEvent({ eventId: 'e2', eventType: 'message', receivedAt: 1000, kind: 'inbound', routes: [{ registrationId: 'tenant-a', to: given }], from: '4520000000', text: given, sentAt: 1000 }), 'new')
    const stored = await store.inspect()
    const batchRecord = stored.batches[0]!
    t.ok([batchRecord.batchId, batchRecord.requestId, batchRecord.senderId].every(asStored), 'the batch\'s ids')
    t.ok(asStored(stored.messages[0]!.text) && asStored(stored.messages[0]!.customerId), 'the message\'s text and customer id')
    t.ok(asStored(stored.webhookEvents[0]!.raw!) && asStored(stored.webhookEvents[0]!.errorDetails!), 'the unusable event, whole, and why')
    t.ok(asStored(stored.incoming[0]!.text) && asStored(stored.incoming[0]!.to), 'the reply')
    // Settlements: a provider's id and a failure's reason.
    await store.acceptCampaign(batch('k2'), [{ mobileNumber: '4520000001', customerId: 'c1', text: 'one' }, { mobileNumber: '4520000002', customerId: 'c2', text: 'two' }])
    const [sent, failed] = await store.claimDue(2000, 2, 60_000)
    await store.markSubmitted([{ id: sent!.id, attempt: sent!.attempts, providerMessageId: given }], 2001)
    await store.fail([{ id: failed!.id, attempt: failed!.attempts, outcome: 'provider-rejected', reason: given }], 2001)
    const settled = (await store.inspect()).messages
    t.ok(asStored(settled.find((m) => m.id === sent!.id)!.providerMessageId!), 'the provider\'s id of a message sent')
    t.ok(asStored(settled.find((m) => m.id === failed!.id)!.lastError!), 'why a message failed')
  })
}
