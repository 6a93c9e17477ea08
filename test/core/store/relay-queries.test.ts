import t, { type Test } from 'tap'
import type { ClaimScope, MessageRecord, NewBatch, NewMessage, Store } from '../../../src/core/store/store.js'
import { CONTRACT_ADAPTERS, type OpenStore } from './adapters.js'

// Contract tests of the relay side of the store (leases, submissions, retries, failures),
// against every adapter, reading what was stored through the inspection role. Every time is an
// explicit `now`: nothing here reads the wall clock.

function batch (key: string, overrides: Partial<NewBatch> = {}): NewBatch {
  return { registrationId: 'tenant-a', idempotencyKey: key, batchId: `batch-${key}`, requestId: `request-${key}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900, ...overrides }
}

function messages (n: number, label: string, failing: number[] = []): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    mobileNumber: `4520${String(i).padStart(6, '0')}`,
    customerId: `${label}-customer-${i}`,
    text: `${label} text ${i}`,
    ...(failing.includes(i) ? { failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } } : {})
  }))
}

for (const [name, openStore, options] of CONTRACT_ADAPTERS) relayTests(name, openStore, options)

function relayTests (name: string, openStore: OpenStore, options: { skip?: string }): void {
  /** A fresh store, closed at teardown, and its messages as stored (oldest first). */
  const open = async (t: Test): Promise<{ store: Store; rows: () => Promise<MessageRecord[]> }> => {
    const store = await openStore(t.testdir())
    t.teardown(() => store.close())
    return { store, rows: async () => (await store.inspect()).messages }
  }

  t.test(`${name}: claimDue: only due queued messages, earliest first, at most \`limit\`, with their batch facts`, options, async (t) => {
    const { store, rows } = await open(t)
    // Stored out of time order, so that the earliest are not simply the lowest ids.
    await store.acceptCampaign(batch('late', { scheduledAt: 3000, senderId: 'LateCo' }), messages(2, 'late'))
    await store.acceptCampaign(batch('mid', { scheduledAt: 2000, senderId: 'MidCo' }), messages(2, 'mid'))
    await store.acceptCampaign(batch('early', { scheduledAt: 1000, senderId: 'EarlyCo' }), messages(2, 'early'))
    await store.acceptCampaign(batch('future', { scheduledAt: 9000 }), messages(1, 'future'))
    // Failed at intake and due long ago: never claimed, it is not queued.
    await store.acceptCampaign(batch('rejected', { scheduledAt: 500 }), messages(1, 'rejected', [0]))
    const byText = new Map((await rows()).map((r) => [r.text, r]))

    const lease = 100_000 // longer than this test's times: no claim expires here
    const first = await store.claimDue(2500, 3, lease)
    t.equal(first.length, 3, 'no more than the limit')
    const early = first.filter((m) => m.senderId === 'EarlyCo')
    const mid = first.filter((m) => m.senderId === 'MidCo')
    t.equal(early.length, 2, 'both of the earliest batch')
    t.equal(mid.length, 1, 'then one of the next earliest; the later batch waits')
    for (const m of first) {
      const row = byText.get(m.text)!
      t.same(m, {
        id: row.id,
        reference: row.reference,
        registrationId: 'tenant-a',
        senderId: m.senderId,
        msisdn: row.mobileNumber,
        text: row.text,
        attempts: 1,
        dueSince: m.senderId === 'MidCo' ? 2000 : 1000
      }, `${m.text}: fields from its row and its batch`)
    }

    const second = await store.claimDue(2500, 10, lease)
    t.same(second.map((m) => [m.senderId, m.dueSince, m.attempts]), [['MidCo', 2000, 1]], 'only the other due message is left at 2500')
    t.same(await store.claimDue(2999, 10, lease), [], 'the 3000 batch is not due a millisecond early')

    const third = await store.claimDue(3000, 10, lease)
    t.same(third.map((m) => m.text).sort(), ['late text 0', 'late text 1'], 'due exactly at its time')
    t.ok(third.every((m) => m.senderId === 'LateCo' && m.dueSince === 3000 && m.attempts === 1))

    t.same(await store.claimDue(8999, 10, lease), [], 'the future message is not returned before its time')
    const claimedRows = (await rows()).filter((r) => r.state === 'sending')
    t.equal(claimedRows.length, 6)
    t.same((await rows()).filter((r) => r.state !== 'sending').map((r) => [r.text, r.state, r.attempts]), [['future text 0', 'queued', 0], ['rejected text 0', 'failed', 0]])
    t.equal((await rows()).find((r) => r.text === 'early text 0')!.leaseUntil, 2500 + lease, 'leased until now + leaseMs')
  })

  t.test(`${name}: claims take turns across registrations with due messages, each within its cap`, options, async (t) => {
    const { store } = await open(t)
    // The largest backlog is the earliest: served by its turn all the same, never before the others' turn.
    await store.acceptCampaign(batch('big', { scheduledAt: 1000, registrationId: 'tenant-a' }), messages(6, 'big'))
    await store.acceptCampaign(batch('small', { scheduledAt: 2000, registrationId: 'tenant-b' }), messages(2, 'small'))
    await store.acceptCampaign(batch('one', { scheduledAt: 1500, registrationId: 'tenant-c' }), messages(1, 'one'))
    await store.acceptCampaign(batch('later', { scheduledAt: 9000, registrationId: 'tenant-d' }), messages(1, 'later'))
    const lease = 100_000
    const claimOf = async (scope?: ClaimScope) => (await store.claimDue(2500, 2, lease, scope)).map((m) => [m.registrationId, m.text])

    t.same(await claimOf(), [['tenant-a', 'big text 0'], ['tenant-a', 'big text 1']], 'without a previous turn: the first registration')
    t.same(await claimOf({ after: 'tenant-a' }), [['tenant-b', 'small text 0'], ['tenant-b', 'small text 1']], 'then the next one, though tenant-a\'s are older')
    t.same(await claimOf({ after: 'tenant-b' }), [['tenant-c', 'one text 0']], 'then the next')
    t.same(await claimOf({ after: 'tenant-c' }), [['tenant-a', 'big text 2'], ['tenant-a', 'big text 3']], 'tenant-d is not due: round again to the first')
    t.same(await claimOf({ after: 'tenant-a' }), [['tenant-a', 'big text 4'], ['tenant-a', 'big text 5']], 'alone with due messages: its turn again')
    t.same(await claimOf({ after: 'tenant-a' }), [], 'nothing due is left')

    await store.acceptCampaign(batch('more', { scheduledAt: 1000, registrationId: 'tenant-a' }), messages(3, 'more'))
    await store.acceptCampaign(batch('also', { scheduledAt: 1000, registrationId: 'tenant-b' }), messages(1, 'also'))
    t.same(await claimOf({ caps: { 'tenant-a': 1 } }), [['tenant-a', 'more text 0']], 'a cap below the limit bounds the claim')
    t.same(await claimOf({ caps: { 'tenant-a': 0 } }), [['tenant-b', 'also text 0']], 'capped at 0: left out, the next takes the turn')
    t.same(await claimOf({ caps: { 'tenant-a': 0 } }), [], 'nothing else is due')
    t.same(await claimOf({ caps: { 'tenant-a': 5 } }), [['tenant-a', 'more text 1'], ['tenant-a', 'more text 2']], 'a cap above the limit: the limit')

    await store.acceptCampaign(batch('again', { scheduledAt: 1000, registrationId: 'tenant-a' }), messages(1, 'again'))
    t.equal(await store.nextDueAt(), 1000, 'the earliest due message of all')
    t.equal(await store.nextDueAt(['tenant-a']), 9000, 'registrations held back are left out')
    t.equal(await store.nextDueAt(['tenant-a', 'tenant-d']), 2500 + lease, 'of the others: when their leases end')
    t.equal(await store.nextDueAt(['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d']), undefined, 'all held back: none')
  })

  t.test(`${name}: a lease hides a claimed message until it ends; then it comes back with one more attempt`, options, async (t) => {
    const { store, rows } = await open(t)
    await store.acceptCampaign(batch('k'), messages(1, 'm'))
    const [claimed] = await store.claimDue(1000, 10, 500)
    t.equal(claimed!.attempts, 1)
    t.same(await store.claimDue(1000, 10, 500), [], 'not twice at the same instant')
    t.same(await store.claimDue(1499, 10, 500), [], 'not while the lease runs')

    // The claiming process died: at the lease's end the message is due again.
    const [again] = await store.claimDue(1500, 10, 500)
    t.same(again, { ...claimed!, attempts: 2 }, 'the same message, attempt 2')
    t.same(await store.claimDue(1999, 10, 500), [], 'the new claim has its own lease')
    t.equal((await store.claimDue(2000, 10, 500))[0]!.attempts, 3)
    t.same((await rows()).map((r) => [r.state, r.attempts, r.leaseUntil]), [['sending', 3, 2500]])
  })

  t.test(`${name}: markSubmitted stores the provider id; a submitted message is never claimed again`, options, async (t) => {
    const { store, rows } = await open(t)
    await store.acceptCampaign(batch('k'), messages(3, 'm'))
    const claimed = await store.claimDue(1000, 2, 100)
    const [a, b] = claimed.sort((x, y) => Number(x.id) - Number(y.id))
    await store.markSubmitted([{ id: a!.id, attempt: 1, providerMessageId: '01HXPROVIDER0000000000001' }, { id: b!.id, attempt: 1, providerMessageId: null }], 1050)
    t.same((await rows()).map((r) => [r.state, r.providerMessageId, r.leaseUntil]), [
      ['submitted', '01HXPROVIDER0000000000001', null],
      ['submitted', null, null],
      ['queued', null, null]
    ])
    // Long after the lease would have ended: only the third message is ever claimed.
    const [c] = await store.claimDue(10_000_000, 10, 100)
    t.equal(c!.text, 'm text 2', 'only the queued one is claimed')
    await store.markSubmitted([{ id: c!.id, attempt: c!.attempts, providerMessageId: 'p3' }], 10_000_050)
    t.same(await store.claimDue(20_000_000, 10, 100), [], 'nothing else: submitted messages stay submitted')
    t.same((await store.stats()).messages, { queued: 0, sending: 0, submitted: 3, final: 0, failed: 0 })
  })

  t.test(`${name}: reschedule puts messages back at their own times; refundAttempt takes the attempt back`, options, async (t) => {
    const { store, rows } = await open(t)
    await store.acceptCampaign(batch('k'), messages(2, 'm'))
    const [a, b] = (await store.claimDue(1000, 10, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
    await store.reschedule([{ id: a!.id, attempt: 1, at: 5000 }, { id: b!.id, attempt: 1, at: 3000 }], 'HTTP 500: boom', 1100)
    t.same((await rows()).map((r) => [r.state, r.nextAttemptAt, r.leaseUntil, r.attempts, r.lastError]), [
      ['queued', 5000, null, 1, 'HTTP 500: boom'],
      ['queued', 3000, null, 1, 'HTTP 500: boom']
    ], 'queued at its own time, the attempt counted')

    t.same(await store.claimDue(2999, 10, 60_000), [], 'the lease is gone but neither is due yet')
    t.same((await store.claimDue(3000, 10, 60_000)).map((m) => [m.id, m.attempts]), [[b!.id, 2]])
    t.same((await store.claimDue(5000, 10, 60_000)).map((m) => [m.id, m.attempts]), [[a!.id, 2]])

    // Both at attempt 2 now; a refunded reschedule takes exactly this claim's attempt back.
    await store.reschedule([{ id: a!.id, attempt: 2, at: 6000 }], 'throttled (HTTP 429)', 5010, { refundAttempt: true })
    await store.reschedule([{ id: b!.id, attempt: 2, at: 6000 }], 'HTTP 502', 5010, { refundAttempt: false })
    t.same((await rows()).map((r) => [r.state, r.attempts, r.lastError]), [['queued', 1, 'throttled (HTTP 429)'], ['queued', 2, 'HTTP 502']])
    t.same((await store.claimDue(6000, 10, 60_000)).map((m) => [m.id, m.attempts]).sort(), [[a!.id, 2], [b!.id, 3]])
  })

  t.test(`${name}: fail ends messages with outcome and reason and queues exactly one report each`, options, async (t) => {
    const { store, rows } = await open(t)
    await store.acceptCampaign(batch('k', { registrationId: 'tenant-z' }), messages(3, 'm'))
    const [a, b] = (await store.claimDue(1000, 2, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
    const queued = (await rows())[2]!.id
    await store.fail([
      { id: a!.id, outcome: 'send-timeout', reason: 'gave up after 5 attempts: HTTP 502' },
      { id: b!.id, outcome: 'provider-rejected', reason: 'refused by the provider: invalid MSISDN' },
      { id: queued, outcome: 'send-timeout', reason: 'too old' }
    ], 2000)
    t.same((await rows()).map((r) => [r.state, r.finalOutcome, r.lastError, r.leaseUntil]), [
      ['failed', 'send-timeout', 'gave up after 5 attempts: HTTP 502', null],
      ['failed', 'provider-rejected', 'refused by the provider: invalid MSISDN', null],
      ['failed', 'send-timeout', 'too old', null]
    ], 'leased and queued messages alike')
    const reports = async () => (await store.inspect()).reports.map((r) => [r.messageId, r.registrationId, r.outcome, r.errorDetails, r.state, r.statusAt])
    const expected = [
      [a!.id, 'tenant-z', 'send-timeout', 'gave up after 5 attempts: HTTP 502', 'pending', 2000],
      [b!.id, 'tenant-z', 'provider-rejected', 'refused by the provider: invalid MSISDN', 'pending', 2000],
      [queued, 'tenant-z', 'send-timeout', 'too old', 'pending', 2000]
    ]
    t.same(await reports(), expected, 'one pending report per message, for its registration')

    // Failing again (a late duplicate decision) changes nothing and reports nothing twice.
    await store.fail([{ id: a!.id, outcome: 'provider-rejected', reason: 'second opinion' }], 3000)
    t.same(await reports(), expected, 'no second report')
    t.match((await rows())[0], { finalOutcome: 'send-timeout', lastError: 'gave up after 5 attempts: HTTP 502' }, 'the first outcome stands')
    t.same(await store.claimDue(100_000_000, 10, 100), [], 'a failed message is never claimed')
    t.equal((await store.stats()).reports.pending, 3)
  })

  t.test(`${name}: settlements are fenced by their claim: a late answer to a claim whose lease ran out changes nothing`, options, async (t) => {
    const { store } = await open(t)
    await store.acceptCampaign(batch('k'), messages(1, 'm'))
    const [stale] = await store.claimDue(1000, 10, 100)
    // The first claim's request outlives its lease; the message is claimed again.
    const [current] = await store.claimDue(1200, 10, 100)
    t.equal(current!.id, stale!.id)
    t.same([stale!.attempts, current!.attempts], [1, 2], 'two claims, told apart by their attempt numbers')

    // The first claim's answers arrive late: none of them touches the newer claim.
    await store.markSubmitted([{ id: stale!.id, attempt: stale!.attempts, providerMessageId: 'stale' }], 1210)
    await store.reschedule([{ id: stale!.id, attempt: stale!.attempts, at: 1220 }], 'HTTP 500', 1210, { refundAttempt: true })
    await store.fail([{ id: stale!.id, attempt: stale!.attempts, outcome: 'provider-rejected', reason: 'late refusal' }], 1210)
    t.match(await store.stats(), { messages: { sending: 1, submitted: 0, queued: 0, failed: 0 }, reports: { pending: 0 } }, 'still sending under the newer claim, no report')
    t.same(await store.claimDue(1250, 10, 100), [], 'not handed out again before the newer lease ends')

    // The newer claim settles as usual.
    await store.markSubmitted([{ id: current!.id, attempt: current!.attempts, providerMessageId: 'P2' }], 1260)
    t.match(await store.stats(), { messages: { sending: 0, submitted: 1 } })
    await store.fail([{ id: current!.id, attempt: current!.attempts, outcome: 'provider-rejected', reason: 'too late' }], 1270)
    t.match(await store.stats(), { messages: { submitted: 1, failed: 0 }, reports: { pending: 0 } }, 'a submitted message is not failed by a settlement of its claim either')
  })

  t.test(`${name}: items naming one message twice, or no message at all, settle as if applied one by one`, options, async (t) => {
    const { store, rows } = await open(t)
    await store.acceptCampaign(batch('k'), messages(3, 'm'))
    const [a, b, c] = (await store.claimDue(1000, 10, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
    await store.markSubmitted([
      { id: a!.id, attempt: 7, providerMessageId: 'another claim' },
      { id: a!.id, attempt: 1, providerMessageId: 'first' },
      { id: a!.id, attempt: 1, providerMessageId: 'second' },
      { id: 'no-such-id', attempt: 1, providerMessageId: 'x' },
      { id: '999999999', attempt: 1, providerMessageId: 'x' }
    ], 1100)
    await store.fail([
      { id: b!.id, outcome: 'send-timeout', reason: 'first' },
      { id: b!.id, attempt: 1, outcome: 'provider-rejected', reason: 'second' },
      { id: 'no-such-id', outcome: 'send-timeout', reason: 'x' }
    ], 1100)
    await store.reschedule([{ id: c!.id, attempt: 2, at: 9000 }, { id: c!.id, attempt: 1, at: 5000 }, { id: c!.id, attempt: 1, at: 7000 }], 'HTTP 500', 1100)
    // A due time matters only to a message still queued.
    t.same((await rows()).map((r) => [r.state, r.providerMessageId, r.finalOutcome, r.lastError, r.state === 'queued' ? r.nextAttemptAt : null]), [
      ['submitted', 'first', null, null, null],
      ['failed', null, 'send-timeout', 'first', null],
      ['queued', null, null, 'HTTP 500', 5000]
    ], 'the first item whose claim holds wins; the others find the message settled')
    t.same((await store.inspect()).reports.map((r) => [r.messageId, r.outcome]), [[b!.id, 'send-timeout']], 'one report')

    const [report] = await store.claimReports(2000, 10, 60_000)
    await store.settleOutbox('reports', { done: [report!.id, 'no-such-id'], retry: [{ id: report!.id, at: 3000 }], parked: [report!.id], error: 'late' }, 2100)
    t.match((await store.inspect()).reports, [{ state: 'done', lastError: null }], 'done first, then retried, then parked: done wins')
  })

  t.test(`${name}: a claim settled in parts keeps the rest of its messages until each is settled`, options, async (t) => {
    const { store } = await open(t)
    await store.acceptCampaign(batch('k'), messages(4, 'm'))
    const [a, b, c, d] = (await store.claimDue(1000, 10, 60_000)).sort((x, y) => Number(x.id) - Number(y.id))
    const counts = async (): Promise<[number, number]> => {
      const { messages } = await store.stats()
      return [messages.queued, messages.sending]
    }
    t.same(await counts(), [0, 4], 'all four sending')

    // The request was split: its first part went through, its second was refused for a while.
    await store.markSubmitted([{ id: a!.id, attempt: 1, providerMessageId: 'p-a' }], 1100)
    await store.reschedule([{ id: b!.id, attempt: 1, at: 2000 }], 'HTTP 503', 1100, { refundAttempt: true })
    t.same(await counts(), [1, 2], 'the rescheduled one is queued again, the unsettled two still sending')
    t.same(await store.claimDue(1999, 10, 60_000), [], 'the unsettled two are not claimed again while their claim runs')
    const [again, ...more] = await store.claimDue(2000, 10, 60_000)
    t.same([again?.id, again?.attempts, more.length], [b!.id, 1, 0], 'the rescheduled one at its own time, alone, its attempt refunded')

    await store.markSubmitted([{ id: c!.id, attempt: 1, providerMessageId: 'p-c' }], 2100)
    t.same(await store.claimDue(2100, 10, 60_000), [], 'the last one of the first claim is still held')
    await store.fail([{ id: d!.id, attempt: 1, outcome: 'provider-rejected', reason: 'refused' }], 2200)
    t.same(await counts(), [0, 1], 'the first claim is settled whole; the second still runs')
    await store.markSubmitted([{ id: d!.id, attempt: 1, providerMessageId: 'late' }, { id: c!.id, attempt: 1, providerMessageId: 'twice' }], 2300)
    t.same((await store.inspect()).messages.map((m) => [m.state, m.providerMessageId]), [
      ['submitted', 'p-a'], ['sending', null], ['submitted', 'p-c'], ['failed', null]
    ], 'a settled claim settles nothing twice')
  })

  t.test(`${name}: nextDueAt: the earliest queued time or lease end; undefined when nothing waits`, options, async (t) => {
    const { store } = await open(t)
    t.equal(await store.nextDueAt(), undefined, 'empty store')
    // Failed at intake: nothing waits for it.
    await store.acceptCampaign(batch('rejected', { scheduledAt: 100 }), messages(1, 'r', [0]))
    t.equal(await store.nextDueAt(), undefined, 'failed messages do not wait')
    await store.acceptCampaign(batch('b5000', { scheduledAt: 5000 }), messages(1, 'b5000'))
    await store.acceptCampaign(batch('b3000', { scheduledAt: 3000 }), messages(1, 'b3000'))
    t.equal(await store.nextDueAt(), 3000)

    const [first] = await store.claimDue(3000, 10, 10_000)
    t.equal(await store.nextDueAt(), 5000, 'the queued message; the lease ends at 13000')
    const [second] = await store.claimDue(5000, 10, 1000)
    t.equal(await store.nextDueAt(), 6000, 'a lease counts: a crashed claim comes back at its end')

    await store.markSubmitted([{ id: second!.id, attempt: second!.attempts, providerMessageId: 'x' }], 5100)
    t.equal(await store.nextDueAt(), 13000)
    await store.reschedule([{ id: first!.id, attempt: first!.attempts, at: 4000 }], 'HTTP 500', 3100)
    t.equal(await store.nextDueAt(), 4000, 'a rescheduled message waits for its own time')
    await store.fail([{ id: first!.id, outcome: 'send-timeout', reason: 'gave up' }], 4100)
    t.equal(await store.nextDueAt(), undefined, 'nothing left waiting')
  })
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a claim and the next due time limited to some registrations (one provider account's) leave the others' messages alone`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const batchOf = (registrationId: string, scheduledAt: number) => ({ registrationId, idempotencyKey: `k-${registrationId}`, batchId: 'b', requestId: 'r', senderId: 'Brand', metadataJson: '{}', scheduledAt, receivedAt: 900 })
    await store.acceptCampaign(batchOf('a', 1000), [{ mobileNumber: '4511', customerId: 'c1', text: 'to a' }])
    await store.acceptCampaign(batchOf('b', 2000), [{ mobileNumber: '4512', customerId: 'c2', text: 'to b' }])
    await store.acceptCampaign(batchOf('c', 3000), [{ mobileNumber: '4513', customerId: 'c3', text: 'to c' }])
    t.equal(await store.nextDueAt([], ['b', 'c']), 2000, 'a\'s earlier message does not count')
    t.equal(await store.nextDueAt(['b'], ['b', 'c']), 3000, 'nor an excluded one')
    t.equal(await store.nextDueAt([], ['nobody']), undefined)
    t.same((await store.claimDue(5000, 10, 60_000, { only: ['b', 'c'] })).map((m) => m.registrationId), ['b'])
    t.same((await store.claimDue(5000, 10, 60_000, { only: ['b', 'c'], after: 'b' })).map((m) => m.registrationId), ['c'])
    t.same(await store.claimDue(5000, 10, 60_000, { only: ['b', 'c'] }), [], 'a\'s message is not claimed')
    t.same((await store.claimDue(5000, 10, 60_000)).map((m) => m.registrationId), ['a'], 'it is for a claim of every registration')
  })
}
