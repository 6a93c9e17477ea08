import t from 'tap'
import { CONTRACT_ADAPTERS } from './adapters.js'
import type { NewMessage, Store } from '../../../src/core/store/store.js'

const unusable = (n: number): NewMessage[] => Array.from({ length: n }, (_, i) => ({
  mobileNumber: `bad-${i}`, customerId: `c${i}`, text: 't', failure: { outcome: 'invalid-recipient', reason: 'unusable number' }
}))
const metadataOf = (kb: number, tag: string) => JSON.stringify({ tag, pad: 'x'.repeat(kb * 1024) })
const batch = (key: string, metadataJson: string) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson, scheduledAt: 1000, receivedAt: 1000 })

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: an outbox claim is bounded by bytes as well as rows`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    // Ten campaigns, each with 60 KiB of metadata and one report queued.
    for (let i = 0; i < 10; i++) await store.acceptCampaign(batch(`k${i}`, metadataOf(60, `b${i}`)), unusable(1))

    const claimed = await store.claimReports(2000, 100, 60_000, 200 * 1024)
    t.equal(claimed.length, 3, 'three reports of distinct campaigns fit in 200 KiB; the fourth would not')
    t.same(claimed.map((r) => JSON.parse(r.metadataJson).tag), ['b0', 'b1', 'b2'], 'each with its own campaign\'s metadata')

    const tiny = await store.claimReports(2000, 100, 60_000, 1)
    t.equal(tiny.length, 1, 'a claim always takes at least one row, however small the budget')
    const rest = await store.claimReports(2000, 100, 60_000)
    t.equal(rest.length, 6, 'without a byte budget, the row limit alone bounds the claim')
  })

  t.test(`${name}: the reports of one campaign count its metadata once and share one copy of it`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const metadata = metadataOf(60, 'shared')
    await store.acceptCampaign(batch('k', metadata), unusable(128))

    const claimed = await store.claimReports(2000, 128, 60_000, 200 * 1024)
    t.equal(claimed.length, 128, '128 reports of one campaign fit in 200 KiB: the metadata counts once')
    t.ok(claimed.every((r) => r.metadataJson === metadata), 'every report carries the campaign\'s metadata exactly')
    const distinct = new Set(claimed.map((r) => r.metadataJson))
    t.equal(distinct.size, 1)
  })

  t.test(`${name}: replies are bounded by their texts' bytes`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    for (let i = 0; i < 5; i++) {
      await store.recordWebhookEvent({ kind: 'inbound', eventId: `e${i}`, eventType: 'user-message.text.sms', receivedAt: 1000, routes: [{ registrationId: 'r', to: 'Brand' }], from: '4511', text: 'y'.repeat(30 * 1024), sentAt: 1000 })
    }
    t.equal((await store.claimIncoming(2000, 100, 60_000, 64 * 1024)).length, 2, 'two 30 KiB replies fit in 64 KiB')
  })

  t.test(`${name}: a claim holds one copy of a campaign's metadata, not one per report`, options, async (t) => {
    // Within one thread, strings are shared by reference: 128 reports of a 1 MiB metadata must
    // not cost 128 MiB. Measured through the heap, since string identity is not observable.
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('k', metadataOf(1024, 'big')), unusable(128))
    const before = process.memoryUsage().heapUsed
    const claimed = await store.claimReports(2000, 128, 60_000)
    const grown = process.memoryUsage().heapUsed - before
    t.equal(claimed.length, 128)
    t.ok(grown < 32 * 1024 * 1024, `the claim grew the heap by ${Math.round(grown / 1024 / 1024)} MiB, not by 128 copies`)
  })
}
