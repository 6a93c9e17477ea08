import t from 'tap'
import type { Store } from '../../../src/core/store/store.js'
import { Pruner } from '../../../src/core/pruner.js'
import { createLogger } from '../../../src/logger.js'
import { CONTRACT_ADAPTERS } from './adapters.js'
import { claimAllDue } from '../../helper.js'

// Pruning against every adapter, reading what is left through the inspection role. Every
// adapter here remembers which registrations text which numbers, so that memory is pruned too.

const newBatch = (key: string, at: number, scheduledAt = at) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt, receivedAt: at })
const msgs = (n: number) => Array.from({ length: n }, (_, i) => ({ mobileNumber: `45200000${i}0`, customerId: `c${i}`, text: 't' }))

/** Sends every due message and records a DELIVERED event for each, all at time `at`. */
async function deliverAll (store: Store, at: number, eventPrefix: string): Promise<void> {
  const claimed = await claimAllDue(store, at, 100, 60_000)
  await store.markSubmitted(claimed.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: null })), at)
  for (const [i, m] of claimed.entries()) {
    await store.recordWebhookEvent({ kind: 'status', eventId: `${eventPrefix}-${i}`, eventType: 'message.status.sms', receivedAt: at, reference: m.reference, providerMessageId: null, status: 'DELIVERED', statusAt: at, outcome: 'delivered' })
  }
}

/** A campaign of one message, sent, delivered and reported to Optimove, all at time `at`. */
async function oneMessageDeliveredAndReported (store: Store, at: number): Promise<void> {
  await store.acceptCampaign(newBatch('k', at), msgs(1))
  await deliverAll(store, at, 'e')
  const [report] = await store.claimReports(at, 10, 60_000)
  await store.settleOutbox('reports', { done: [report!.id] }, at)
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: prune deletes only what is old and no longer owed to anyone`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const OLD = 1_000
    const NEW = 1_000_000

    await store.acceptCampaign(newBatch('old-done', OLD), msgs(2))
    await deliverAll(store, OLD, 'old')
    const reports = await store.claimReports(OLD, 100, 60_000)
    // One report delivered, one still owed (parked after a 4xx): its message must stay.
    await store.settleOutbox('reports', { done: [reports[0]!.id], parked: [reports[1]!.id], error: 'HTTP 400' }, OLD)
    // Old, but scheduled far ahead: never sent, so never ended.
    await store.acceptCampaign(newBatch('old-waiting', OLD, 10 ** 12), msgs(1))
    await store.recordWebhookEvent({ kind: 'inbound', eventId: 'reply-old', eventType: 'user-message.text.sms', receivedAt: OLD, routes: [{ registrationId: 'r', to: 'Brand' }], from: '4511', text: 'STOP', sentAt: OLD })
    const incoming = await store.claimIncoming(OLD, 10, 60_000)
    await store.settleOutbox('incoming', { done: incoming.map((r) => r.id) }, OLD)
    await store.acceptCampaign(newBatch('new', NEW), msgs(1))
    await deliverAll(store, NEW, 'new')

    const deleted = await store.prune(NEW - 10)
    t.same(deleted, { webhookEvents: 3, reports: 1, incoming: 1, messages: 1, batches: 0, recipients: 1 }, 'the second number was last texted long ago; the first again by the new campaign')
    const left = await store.inspect()
    t.same(left.batches.map((b) => b.idempotencyKey), ['old-done', 'old-waiting', 'new'], 'batches keep while any message of theirs is kept')
    t.same(left.messages.map((m) => m.state), ['final', 'queued', 'final'], 'the message owed a report, the unsent one and the new one stay')
    t.same(left.reports.map((r) => r.state), ['parked', 'pending'])
    t.same(left.webhookEvents.map((e) => e.eventId), ['new-0'], 'only the new event is remembered')
    t.same(left.incoming, [])
    t.same(left.recipients.map((r) => [r.msisdn, r.lastSentAt]), [['4520000000', NEW]])

    // Once its last report is done and old, the rest of the old campaign goes too.
    const again = await store.claimReports(NEW, 10, 60_000)
    t.equal(again.length, 1, 'only the new report is due; the parked one waits for an operator')
    await store.prune(NEW + 10)
    t.equal((await store.inspect()).messages.length, 3, 'nothing newer than the cutoff goes')
  })

  t.test(`${name}: an ended message goes with the status history that points at it`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    // Failed at intake, reported; a status for it arrives after the cutoff and joins its history.
    await store.acceptCampaign(newBatch('k', 1_000), [{ mobileNumber: 'bad', customerId: 'c', text: 't', failure: { outcome: 'invalid-recipient', reason: 'bad number' } }])
    const [report] = await store.claimReports(1_000, 10, 60_000)
    await store.settleOutbox('reports', { done: [report!.id] }, 1_000)
    const [message] = (await store.inspect()).messages
    t.equal(await store.recordWebhookEvent({ kind: 'status', eventId: 'late', eventType: 'message.status.sms', receivedAt: 6_000, reference: message!.reference, providerMessageId: null, status: 'DELIVERED', statusAt: 6_000, outcome: 'delivered' }), 'new')

    t.same(await store.prune(5_000, 0), { webhookEvents: 0, reports: 1, incoming: 0, messages: 1, batches: 1, recipients: 0 }, 'the event is newer than the cutoff, its message is not')
    t.same(await store.inspect(), { batches: [], messages: [], reports: [], incoming: [], webhookEvents: [], recipients: [], instances: [] }, 'the event went with its message')
  })

  t.test(`${name}: prune goes on past one chunk and counts every row it deleted`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const unusable = Array.from({ length: 1_200 }, (_, i) => ({ mobileNumber: `bad-${i}`, customerId: `c${i}`, text: 't', failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } }))
    await store.acceptCampaign(newBatch('k', 1_000), unusable)
    const reports = await store.claimReports(1_000, 2_000, 60_000)
    await store.settleOutbox('reports', { done: reports.map((r) => r.id) }, 1_000)
    t.same(await store.prune(2_000), { webhookEvents: 0, reports: 1_200, incoming: 0, messages: 1_200, batches: 1, recipients: 0 })
    t.same(await store.stats(), { batches: 0, messages: { queued: 0, sending: 0, submitted: 0, final: 0, failed: 0 }, reports: { pending: 0, sending: 0, done: 0, parked: 0 }, incoming: { pending: 0, sending: 0, done: 0, parked: 0 } })
  })

  t.test(`${name}: a forgotten batch key is accepted again after its retention`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await oneMessageDeliveredAndReported(store, 1_000)
    t.same(await store.prune(5_000), { webhookEvents: 1, reports: 1, incoming: 0, messages: 1, batches: 1, recipients: 1 })
    t.same(await store.acceptCampaign(newBatch('k', 6_000), msgs(1)), { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
  })

  t.test(`${name}: the pruner prunes what is past RETENTION from the injected clock, and stops cleanly`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await oneMessageDeliveredAndReported(store, 1_000)
    const clock = { now: () => 1_000 + 500 }
    const pruner = new Pruner({ store, clock, logger: createLogger('silent'), retentionMs: 1_000, intervalMs: 3_600_000 })
    pruner.start()
    pruner.start()
    await pruner.runOnce()
    t.equal((await store.inspect()).messages.length, 1, 'within retention: kept')
    clock.now = () => 1_000 + 1_001
    await pruner.runOnce()
    t.equal((await store.inspect()).messages.length, 0, 'past retention: pruned')
    await pruner.stop()
    await pruner.stop()
  })

  t.test(`${name}: the number→registration memory outlives the messages it came from, then goes after its own retention`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign({ ...newBatch('a', 1_000), registrationId: 'tenant-a' }, msgs(1))
    await store.acceptCampaign({ ...newBatch('b', 2_000), registrationId: 'tenant-b' }, msgs(1))
    t.same(await store.registrationsOfRecipient('4520000000'), ['tenant-b', 'tenant-a'], 'the latest sender first')
    await deliverAll(store, 3_000, 'e')
    for (const r of await store.claimReports(3_000, 10, 60_000)) await store.settleOutbox('reports', { done: [r.id] }, 3_000)

    const deleted = await store.prune(10_000, 1_500)
    t.match(deleted, { messages: 2, batches: 2, recipients: 1 })
    t.same(await store.registrationsOfRecipient('4520000000'), ['tenant-b'], 'pruned messages, remembered sender; the older memory went')
    t.same(await store.registrationsOfRecipient('4599999999'), [], 'a number nobody texted')
  })

  t.test(`${name}: registrations that texted a number at the same time come in a stable order`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    for (const registrationId of ['b-tenant', 'B-tenant', 'a-tenant']) await store.acceptCampaign({ ...newBatch(registrationId, 1_000), registrationId }, msgs(1))
    t.same(await store.registrationsOfRecipient('4520000000'), ['B-tenant', 'a-tenant', 'b-tenant'], 'ties in the byte order of the registration names')
  })
}
