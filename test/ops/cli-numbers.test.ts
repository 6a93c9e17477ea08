import t from 'tap'
import { openStore } from '../../src/core/store/open-store.js'
import { runOps } from '../helper.js'
import { batchOf, everyTableAsText, stores, to } from './ops-stores.js'

// The operator's CLI on what concerns a phone number (suppression lists, erasure), run as a
// process against a real store, on SQLite and on PostgreSQL (when a test server is configured).

for (const [name, urlFor, options] of stores) {
  t.test(`${name}: suppress, suppressions and unsuppress keep a registration's suppression list`, options, async (t) => {
    const url = await urlFor(t.testdir())
    await (await openStore(url)).close()
    const ops = async (...args: string[]) => {
      const run = await runOps(t, args, { DATABASE_URL: url })
      t.equal(run.code, 0, run.stderr)
      return JSON.parse(run.stdout)
    }
    t.same(await ops('suppress', 'tenant', '+45 20 00 00 01'), { registration: 'tenant', number: '4520000001', suppressed: true, wasSuppressed: false })
    await ops('suppress', 'other', '4520000002')
    t.match(await ops('suppressions'), [{ registrationId: 'other', msisdn: '4520000002', source: 'operator' }, { registrationId: 'tenant', msisdn: '4520000001', source: 'operator' }])
    t.same((await ops('suppressions', '--registration', 'tenant')).map((s: { msisdn: string }) => s.msisdn), ['4520000001'])
    const store = await openStore(url)
    await store.acceptCampaign(batchOf('tenant', 1), [to('4520000001')])
    t.same((await store.claimDue(Date.now(), 10, 60_000)).map((m) => m.optedOut), [true], 'a message to it is marked opted out')
    await store.close()
    t.same(await ops('unsuppress', 'tenant', '4520000001'), { registration: 'tenant', number: '4520000001', suppressed: false, wasSuppressed: true })
    t.same((await ops('suppressions', '--registration', 'tenant')), [])
  })

  t.test(`${name}: erase leaves no trace of the number in any table`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url, { recipientIndex: true })
    await store.acceptCampaign(batchOf('tenant', 1), [{ ...to('4520000001'), givenNumber: '+45 20 00 00 01', text: 'Hi Ann' }, to('4520000002')])
    const [sent] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: sent!.id, attempt: 1, providerMessageId: 'gw-1' }], 2100)
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 3000, reference: null, providerMessageId: 'gw-1', status: 'DELIVERED', statusAt: 2900, outcome: 'delivered' })
    await store.recordWebhookEvent({ kind: 'inbound', eventId: 'r1', eventType: 'user-message.text.sms', receivedAt: 3100, routes: [{ registrationId: 'tenant', to: 'Brand' }], from: '4520000001', text: 'Ann says STOP', sentAt: 3100 })
    await store.recordWebhookEvent({ kind: 'unusable', eventId: 'u1', eventType: 'odd', receivedAt: 3200, reason: 'no event_type', raw: '{"msisdn":4520000001}' })
    await store.setSuppressed('tenant', '4520000001', true, 3300)
    await store.close()
    t.match(await everyTableAsText(url), /4520000001/, 'the number is in the tables before')

    const run = await runOps(t, ['erase', '+45 20 00 00 01'], { DATABASE_URL: url })
    t.equal(run.code, 0, run.stderr)
    t.same(JSON.parse(run.stdout), { messages: 1, replies: 1, recipients: 1, webhookEvents: 1, suppressions: 1 })
    const tables = await everyTableAsText(url)
    t.notMatch(tables, /4520000001|20 00 00 01|Ann/, 'no trace of the number, nor of its texts, in any table')
    t.match(tables, /4520000002/, 'the other number is kept')
    const wrong = await runOps(t, ['erase', 'Ann'], { DATABASE_URL: url })
    t.same([wrong.code, wrong.stderr.split('\n')[0]], [64, 'number: must be a phone number: digits, with an optional leading + or 00'])
  })
}
