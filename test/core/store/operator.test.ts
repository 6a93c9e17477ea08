import t from 'tap'
import { CONTRACT_ADAPTERS } from './adapters.js'
import type { NewBatch, NewMessage } from '../../../src/core/store/store.js'

// What an operator does to the store (the ops CLI and the admin API), through its interface: the
// same on every adapter.

const batch = (registrationId: string, n: number, over: Partial<NewBatch> = {}): NewBatch => ({
  registrationId, idempotencyKey: `key-${registrationId}-${n}`, batchId: `batch-${n}`, requestId: `request-${n}`, senderId: 'Brand',
  metadataJson: '{}', scheduledAt: 1000, receivedAt: 900, ...over
})
// Optimove's customer id is kept by an erasure (it is Optimove's own key, not the number).
const to = (mobileNumber: string, text = 'hello'): NewMessage => ({ mobileNumber, customerId: `customer-${mobileNumber.slice(-2)}`, text })

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a batch looked up by any of its ids, with its messages and reports counted by state`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('tenant', 1), [to('4511'), to('4512'), to('4513'), { ...to('x'), failure: { outcome: 'invalid-recipient', reason: 'not a number' } }])
    await store.acceptCampaign(batch('tenant', 2, { requestId: 'request-1' }), [to('4514')])
    const [claimed] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: claimed!.id, attempt: 1, providerMessageId: 'p-1' }], 2100)
    await store.claimDue(2000, 1, 60_000)

    const { batches, messages } = await store.inspect()
    const first = batches[0]!
    const reference = messages[0]!.reference
    for (const key of [first.id, reference.slice(0, reference.lastIndexOf('-')), 'batch-1']) {
      const found = await store.lookupBatches(key, 10)
      t.equal(found.length, 1, `one batch for ${key}`)
      t.same(found[0], {
        batch: first,
        messages: { queued: 1, sending: 1, submitted: 1, final: 0, failed: 1 },
        reports: { pending: 1, sending: 0, done: 0, parked: 0 }
      }, 'its record, a claimed message counted as sending')
    }
    t.same((await store.lookupBatches('request-1', 10)).map((b) => b.batch.batchId), ['batch-2', 'batch-1'], 'a request\'s batches, newest first')
    t.same((await store.lookupBatches('request-1', 1)).length, 1, 'within the limit')
    t.same(await store.lookupBatches('nothing', 10), [])
  })

  t.test(`${name}: a message looked up by reference, provider id or number, with its status history and reports`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('tenant', 1), [to('4511'), to('4512')])
    await store.acceptCampaign(batch('tenant', 2), [to('4511', 'again')])
    const [claimed] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: claimed!.id, attempt: 1, providerMessageId: 'p-1' }], 2100)
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 3000, reference: null, providerMessageId: 'p-1', status: 'ENROUTE', statusAt: 2900 })
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e2', eventType: 'message.status_updated', receivedAt: 4000, reference: null, providerMessageId: 'p-1', status: 'DELIVERED', statusAt: 3900, outcome: 'delivered' })

    const [byProvider] = await store.lookupMessages('p-1', 10)
    t.match(byProvider, {
      message: { id: claimed!.id, mobileNumber: '4511', text: 'hello', state: 'final', finalOutcome: 'delivered', providerMessageId: 'p-1' },
      registrationId: 'tenant',
      batch: { batchId: 'batch-1', requestId: 'request-1' },
      history: [
        { eventId: 'e1', status: 'ENROUTE', statusAt: 2900, errorCode: null, errorDetails: null, receivedAt: 3000 },
        { eventId: 'e2', status: 'DELIVERED', statusAt: 3900, receivedAt: 4000 }
      ],
      reports: [{ messageId: claimed!.id, outcome: 'delivered', state: 'pending' }]
    })
    t.same(await store.lookupMessages(claimed!.reference, 10), [byProvider], 'the same by its reference')
    const byNumber = await store.lookupMessages('4511', 10)
    t.same(byNumber.map((m) => m.message.text), ['again', 'hello'], 'every message to the number, newest first')
    t.same(byNumber[0]!.history, [])
    t.equal((await store.lookupMessages('4511', 1)).length, 1, 'within the limit')
    t.same(await store.lookupMessages('', 10), [], 'an empty key finds nothing')
  })

  t.test(`${name}: parked reports and replies requeued (all, by registration, parked since a time), each once`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const bad = (n: string): NewMessage => ({ ...to(n), failure: { outcome: 'invalid-recipient', reason: 'not a number' } })
    await store.acceptCampaign(batch('a', 1), [bad('x1'), bad('x2')])
    await store.acceptCampaign(batch('b', 1), [bad('x3')])
    await store.recordWebhookEvent({ kind: 'inbound', eventId: 'r1', eventType: 'user-message.text.sms', receivedAt: 900, routes: [{ registrationId: 'b', to: 'Brand' }], from: '4511', text: 'hi', sentAt: 900 })
    const [a1, a2, b1] = await store.claimReports(1000, 10, 30_000)
    await store.settleOutbox('reports', { parked: [a1!.id, b1!.id], error: 'HTTP 400' }, 1100)
    await store.settleOutbox('reports', { retry: [{ id: a2!.id, at: 1200 }], error: 'HTTP 503' }, 1100)
    const [reply] = await store.claimIncoming(1000, 10, 30_000)
    await store.settleOutbox('incoming', { parked: [reply!.id], error: 'HTTP 400' }, 5000)
    t.equal((await store.parked()).reports[0]!.nextAttemptAt, 1100, 'a parked row is due when it was parked')

    t.same(await store.requeueParked({ since: 2000 }, 6000), { reports: 0, incoming: 1 }, 'only what was parked since the time')
    t.same(await store.requeueParked({ registrationId: 'a' }, 6000), { reports: 1, incoming: 0 }, 'only the registration\'s')
    t.same(await store.requeueParked({}, 6000), { reports: 1, incoming: 0 }, 'the rest')
    t.same(await store.requeueParked({}, 6000), { reports: 0, incoming: 0 }, 'nothing twice')
    t.same(await store.parked(), { reports: [], incoming: [] })

    const reports = await store.claimReports(6000, 10, 30_000)
    t.same(reports.map((r) => [r.id, r.attempts]).sort(), [[a1!.id, 1], [a2!.id, 2], [b1!.id, 1]].sort(), 'due at once, attempts counted afresh; the row that was not parked kept its count')
    t.match(await store.claimIncoming(6000, 10, 30_000), [{ id: reply!.id, attempts: 1, from: '4511' }])
  })

  t.test(`${name}: a cancelled batch's waiting messages end Failed/Cancelled with their reports; those in flight or sent are left`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('tenant', 1), [to('4511'), to('4512'), to('4513'), to('4514')])
    const [sent] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: sent!.id, attempt: 1, providerMessageId: 'p-1' }], 2100)
    const [inFlight] = await store.claimDue(2000, 1, 60_000)
    const batchId = (await store.inspect()).batches[0]!.id

    t.same(await store.cancelBatch(batchId, 3000), { cancelled: 2, inFlight: 1, alreadyDone: 1 })
    const { messages, reports } = await store.inspect()
    t.same(messages.map((m) => [m.mobileNumber, m.state, m.finalOutcome]), [
      ['4511', 'submitted', null], ['4512', 'sending', null], ['4513', 'failed', 'cancelled'], ['4514', 'failed', 'cancelled']
    ])
    t.match(reports, [{ outcome: 'cancelled', state: 'pending' }, { outcome: 'cancelled', state: 'pending' }], 'a report for each cancelled message')
    t.equal(reports.length, 2)
    await store.markSubmitted([{ id: inFlight!.id, attempt: 1, providerMessageId: 'p-2' }], 3100)
    t.match((await store.inspect()).messages[1], { state: 'submitted', providerMessageId: 'p-2' }, 'the message in flight settles as before')
    t.same(await store.claimDue(4000, 10, 60_000), [], 'nothing left to send')
    t.same(await store.cancelBatch(batchId, 5000), { cancelled: 0, inFlight: 0, alreadyDone: 4 }, 'a second cancel ends nothing')
    t.equal(await store.cancelBatch('999999', 5000), undefined, 'no such batch')
    t.equal(await store.cancelBatch('not-an-id', 5000), undefined)
  })

  t.test(`${name}: a paused registration's messages are not claimed until it is resumed; other registrations go on`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('a', 1), [to('4511')])
    await store.acceptCampaign(batch('b', 1, { scheduledAt: 1500 }), [to('4512')])
    t.equal(await store.setRegistrationPaused('a', true, 1000), false, 'not paused before')
    t.equal(await store.setRegistrationPaused('a', true, 1200), true, 'pausing twice changes nothing')
    t.same(await store.pausedRegistrations(), [{ registrationId: 'a', pausedAt: 1000 }])
    t.equal(await store.nextDueAt(), 1500, 'the paused registration\'s messages are not due')
    t.same((await store.claimDue(2000, 10, 60_000)).map((m) => m.registrationId), ['b'])
    t.same(await store.claimDue(2000, 10, 60_000), [], 'nothing of the paused registration')
    t.equal(await store.setRegistrationPaused('a', false, 3000), true, 'was paused')
    t.same(await store.pausedRegistrations(), [])
    t.same((await store.claimDue(3000, 10, 60_000)).map((m) => m.msisdn), ['4511'], 'sent once resumed')
    t.equal(await store.setRegistrationPaused('a', false, 3000), false, 'resuming twice changes nothing')
  })

  t.test(`${name}: an erased number leaves no trace in the store; its owed report still goes, without it`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const number = '4520000001'
    await store.acceptCampaign(batch('tenant', 1), [{ ...to(number, 'Hi Ann, your code is 1234'), givenNumber: '+45 20 00 00 01' }, to('4520000002', 'Hi Bob')])
    await store.acceptCampaign(batch('tenant', 2), [to(number, 'Ann, still there?')])
    const [sent] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: sent!.id, attempt: 1, providerMessageId: 'p-1' }], 2100)
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 3000, reference: null, providerMessageId: 'p-1', status: 'UNDELIVERABLE', statusAt: 2900, outcome: 'undeliverable', error: { code: '0x0A05', details: `absent subscriber ${number}` } })
    await store.recordWebhookEvent({ kind: 'inbound', eventId: 'r1', eventType: 'user-message.text.sms', receivedAt: 3100, routes: [{ registrationId: 'tenant', to: 'Brand' }], from: number, text: 'Ann here: call me', sentAt: 3100 })
    await store.setSuppressed('tenant', number, true, 3150)
    await store.recordWebhookEvent({ kind: 'unusable', eventId: 'u1', eventType: 'unknown', receivedAt: 3200, reason: 'no event_type', raw: `{"msisdn":${number},"x":1}` })
    t.ok(JSON.stringify(await store.inspect()).includes(number), 'the number is stored before')

    t.same(await store.erasePhoneNumber(number, 4000), { messages: 2, replies: 1, recipients: 1, webhookEvents: 2, suppressions: 1 })
    const after = await store.inspect()
    const dump = JSON.stringify(after)
    t.notOk(dump.includes(number), 'no trace of the number')
    t.notOk(dump.includes('Ann'), 'nor of the texts to and from it')
    t.ok(dump.includes('4520000002') && dump.includes('Hi Bob'), 'other numbers are kept')
    t.same(after.messages.map((m) => [m.state, m.finalOutcome]), [['final', 'undeliverable'], ['queued', null], ['failed', 'cancelled']], 'its unsent message is never sent')
    t.same(await store.lookupMessages(number, 10), [])
    const owed = await store.claimReports(5000, 10, 30_000)
    t.same(owed.map((r) => [r.outcome, r.mobileNumber, r.customerId]), [['undeliverable', '', 'customer-01'], ['cancelled', '', 'customer-01']], 'the reports owed still go, without the number')
    t.same((await store.claimDue(5000, 10, 60_000)).map((m) => m.msisdn), ['4520000002'], 'the other number is still sent')
    t.same(await store.registrationsOfRecipient(number), [])
    t.same(await store.erasePhoneNumber(number, 6000), { messages: 0, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 }, 'nothing left to erase')
    t.same(await store.erasePhoneNumber('', 6000), { messages: 0, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 }, 'an empty number erases nothing')
  })
}

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: a STOP reply puts its number on the suppression list of each registration it goes to; a claim marks its messages opted out; START lifts it`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    await store.acceptCampaign(batch('a', 1), [to('4511'), to('4512')])
    await store.acceptCampaign(batch('b', 1), [to('4511')])
    const reply = (eventId: string, text: string, optOut?: 'stop' | 'start') => store.recordWebhookEvent({
      kind: 'inbound', eventId, eventType: 'user-message.text.sms', receivedAt: 1500, routes: [{ registrationId: 'a', to: 'Brand' }], from: '4511', text, sentAt: 1500, ...(optOut === undefined ? {} : { optOut })
    })
    await reply('r1', 'Stop!', 'stop')
    t.match(await store.suppressions({}, 10), [{ registrationId: 'a', msisdn: '4511', suppressedAt: 1500, source: 'stop' }], 'on a\'s list only')
    t.equal((await store.suppressions({}, 10)).length, 1)
    t.match((await store.inspect()).incoming, [{ from: '4511', text: 'Stop!', state: 'pending' }], 'the reply still goes to Optimove')
    await reply('r1', 'Stop!', 'stop')
    t.equal((await store.suppressions({}, 10)).length, 1, 'a replayed STOP changes nothing')

    const claimed = await claimAll(store, 2000)
    t.same(claimed.map((m) => [m.registrationId, m.msisdn, m.optedOut ?? false]).sort(), [['a', '4511', true], ['a', '4512', false], ['b', '4511', false]], 'only a\'s message to the number is marked')

    await reply('r2', 'START', 'start')
    t.same(await store.suppressions({}, 10), [], 'START takes it off')
    await store.acceptCampaign(batch('a', 2), [to('4511')])
    t.same((await store.claimDue(3000, 10, 60_000)).map((m) => m.optedOut ?? false), [false], 'sent again after START')
  })

  t.test(`${name}: numbers put on and taken off a suppression list by an operator, listed by registration`, options, async (t) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    t.equal(await store.setSuppressed('b', '4512', true, 1000), false, 'not suppressed before')
    t.equal(await store.setSuppressed('a', '4511', true, 1100), false)
    t.equal(await store.setSuppressed('a', '4511', true, 1200), true, 'suppressing twice changes nothing')
    t.same(await store.suppressions({}, 10), [
      { registrationId: 'a', msisdn: '4511', suppressedAt: 1100, source: 'operator' },
      { registrationId: 'b', msisdn: '4512', suppressedAt: 1000, source: 'operator' }
    ], 'by registration, then number')
    t.same((await store.suppressions({ registrationId: 'b' }, 10)).map((s) => s.msisdn), ['4512'])
    t.equal((await store.suppressions({}, 1)).length, 1, 'within the limit')
    await store.acceptCampaign(batch('a', 1), [to('4511')])
    t.same((await store.claimDue(2000, 10, 60_000)).map((m) => m.optedOut), [true], 'a queued message to it is marked')
    t.equal(await store.setSuppressed('a', '4511', false, 3000), true, 'was suppressed')
    t.equal(await store.setSuppressed('a', '4511', false, 3000), false)
    t.same((await store.suppressions({}, 10)).map((s) => s.registrationId), ['b'])
  })
}

/** Claims until nothing is due at `now`, across registrations. */
async function claimAll (store: import('../../../src/core/store/store.js').Store, now: number) {
  const all = []
  for (let claimed = await store.claimDue(now, 10, 60_000); claimed.length > 0; claimed = await store.claimDue(now, 10, 60_000, { after: claimed[0]!.registrationId })) all.push(...claimed)
  return all
}
