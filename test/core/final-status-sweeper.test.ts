import t from 'tap'
import { FinalStatusSweeper } from '../../src/core/final-status-sweeper.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import type { Store } from '../../src/core/store/store.js'
import { createLogger } from '../../src/logger.js'
import { CONTRACT_ADAPTERS } from './store/adapters.js'
import { claimAllDue } from '../helper.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = 1_700_000_000_000
const batch = (registrationId: string, key: string) => ({ registrationId, idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: T0, receivedAt: T0 })
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ mobileNumber: `452000000${i}`, customerId: `c${i}`, text: 't' }))

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a message sent and never given a status is reported once, at expiration plus grace; a late status changes nothing`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    let now = T0
    const sweeper = new FinalStatusSweeper({
      store,
      clock: { now: () => now },
      logger: createLogger('silent'),
      expirations: [{ registrationId: 'short', expirationMs: 12 * HOUR }, { registrationId: 'long', expirationMs: 2 * DAY }],
      graceMs: 6 * HOUR,
      intervalMs: 60_000
    })
    await store.acceptCampaign(batch('short', 'a'), messages(2))
    await store.acceptCampaign(batch('long', 'b'), messages(1))
    await store.acceptCampaign(batch('gone', 'c'), messages(1))
    const sent = await claimAllDue(store, T0, 10, 60_000)
    await store.markSubmitted(sent.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `P${m.id}` })), T0)
    const [delivered] = sent
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status.sms', receivedAt: T0 + HOUR, reference: delivered!.reference, providerMessageId: null, status: 'DELIVERED', statusAt: T0 + HOUR, outcome: 'delivered' })

    now = T0 + 18 * HOUR - 1
    t.equal(await sweeper.runOnce(), 0, 'nothing just before the short registration\'s expiration plus grace')
    now = T0 + 18 * HOUR + 1
    t.equal(await sweeper.runOnce(), 1, 'the short registration\'s unconfirmed message ends; its delivered one does not')
    t.equal(await sweeper.runOnce(), 0, 'and only once')
    now = T0 + 2 * DAY + 6 * HOUR + 1
    t.equal(await sweeper.runOnce(), 1, 'the long registration\'s after its own expiration')
    now = T0 + 5 * DAY + 6 * HOUR + 1
    t.equal(await sweeper.runOnce(), 1, 'a registration no longer configured waits for the longest expiration')

    const reports = await store.claimReports(now, 100, 60_000)
    t.equal(reports.length, 4, 'one report per message')
    t.same(reports.map((r) => r.outcome).sort(), ['delivered', 'no-final-status', 'no-final-status', 'no-final-status'])

    // The real status arrives after the sweep: it joins the history, the report stays as it was.
    const late = sent.find((m) => m.id !== delivered!.id && m.registrationId === 'short')!
    t.equal(await store.recordWebhookEvent({ kind: 'status', eventId: 'late', eventType: 'message.status.sms', receivedAt: now, reference: late.reference, providerMessageId: null, status: 'DELIVERED', statusAt: now, outcome: 'delivered' }), 'new')
    t.same(await store.claimReports(now + 1, 100, 60_000), [], 'no second report')
    t.match(await store.stats(), { messages: { final: 4, submitted: 0 }, reports: { sending: 4 } })
  })
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: endUnconfirmed ends every overdue message, past one chunk, and reports each with its reason`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('short', 'a'), Array.from({ length: 1500 }, (_, i) => ({ mobileNumber: `4520${String(i).padStart(6, '0')}`, customerId: `c${i}`, text: 't' })))
    await store.acceptCampaign(batch('gone', 'b'), messages(2))
    const sent = await claimAllDue(store, T0, 2000, 60_000)
    await store.markSubmitted(sent.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: null })), T0 + 1)

    t.equal(await store.endUnconfirmed([{ registrationId: 'short', submittedBefore: T0 + 1 }], T0 + 1, T0 + 10), 0, 'not before the cutoff')
    t.equal(await store.endUnconfirmed([{ registrationId: 'short', submittedBefore: T0 + 2 }], T0 + 1, T0 + 10), 1500, 'the listed registration\'s, in chunks')
    t.equal(await store.endUnconfirmed([{ registrationId: 'short', submittedBefore: T0 + 2 }], T0 + 2, T0 + 20), 2, 'then the others\' by their own cutoff')
    const { messages: ended, reports } = await store.inspect()
    t.ok(ended.every((m) => m.state === 'final' && m.finalOutcome === 'no-final-status' && m.lastError === 'no final status from the provider before its expiration and grace'))
    t.same(ended.map((m) => m.updatedAt).filter((at) => at === T0 + 20).length, 2)
    t.equal(reports.length, 1502)
    t.ok(reports.every((r) => r.outcome === 'no-final-status' && r.state === 'pending' && r.errorCode === null &&
      r.errorDetails === 'no final status from the provider before its expiration and grace'))
    t.same(reports.filter((r) => r.statusAt === T0 + 20).map((r) => r.registrationId), ['gone', 'gone'], 'each report for its message\'s registration')
  })
}

t.test('the sweeper runs on its interval and stops cleanly', async (t) => {
  const store = openSqliteStore({ path: `${t.testdir()}/bridge.db` })
  t.teardown(() => store.close())
  let calls = 0
  const counting: Store = { ...store, endUnconfirmed: async (...args) => { calls++; return store.endUnconfirmed(...args) } }
  const sweeper = new FinalStatusSweeper({ store: counting, clock: { now: () => Date.now() }, logger: createLogger('silent'), expirations: [], graceMs: 0, intervalMs: 5 })
  sweeper.start()
  sweeper.start()
  while (calls < 2) await new Promise((resolve) => setImmediate(resolve))
  await sweeper.stop()
  const after = calls
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.equal(calls, after, 'no pass after stop()')
})
