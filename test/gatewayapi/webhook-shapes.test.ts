import t from 'tap'
import type { WebhookEventRecord } from '../../src/core/store/store.js'
import { gatewayEnvelope, rcsLocationReply, rcsTextReply } from '../../src/sim/gatewayapi-events.js'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'

type Stack = Awaited<ReturnType<typeof startStack>>

/** Delivery reports Optimove took, by our message reference. */
const reportsByReference = (optimove: Stack['optimove']) => new Map(optimove.received('delivery-report')
  .filter((c) => c.status === 200).map((c) => [(c.body as any).messageId as string, c.body as Record<string, any>]))

const repliesOf = (optimove: Stack['optimove']) => optimove.received('incoming-message').flatMap((c) => (c.body as any).messages as Array<Record<string, string>>)

/** What the store remembers of an event id, read as an operator would. */
async function storedEvent (dbPath: string, eventId: string): Promise<WebhookEventRecord | undefined> {
  return (await inspectStoreAt(dbPath)).webhookEvents.find((e) => e.eventId === eventId)
}

/** A stack with `n` messages sent and waiting for their status. */
async function submitted (t: Parameters<typeof startStack>[0], n: number) {
  const stack = await startStack(t, { INBOUND_TO: 'companyAbc' })
  await stack.sendCampaign(campaignBody({ recipients: n }))
  await stack.gateway.waitForAccepted(n)
  await until(stack.service.dispatcher, 'settled', async () => (await inspectStoreAt(stack.dbPath)).messages.every((m) => m.state === 'submitted'))
  return stack
}

t.test('status events under every spelling and in every loose shape each produce the right delivery report', async (t) => {
  const stack = await submitted(t, 14)
  const { gateway, optimove, service } = stack
  const m = gateway.accepted
  const hourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000)
  const status = (i: number, extra: Record<string, unknown> = {}) => ({ msg_id: m[i]!.msg_id, recipient: m[i]!.recipient, reference: m[i]!.reference, status_at: hourAgo.toISOString(), error: null, ...extra })
  const cases: Array<{ envelope: Record<string, unknown>; type: [string, string]; error?: unknown; statusAt?: string; what: string }> = [
    { what: 'message.status.sms (the OpenAPI spelling)', envelope: gatewayEnvelope('message.status.sms', status(0, { status: 'DELIVERED' })), type: ['Delivered', 'Delivered'] },
    { what: 'messaging.status.sms (the overview page\'s spelling)', envelope: gatewayEnvelope('messaging.status.sms', status(1, { status: 'DELIVERED' })), type: ['Delivered', 'Delivered'] },
    { what: 'message.status.rcs without an error field', envelope: gatewayEnvelope('message.status.rcs', { msg_id: m[2]!.msg_id, recipient: m[2]!.recipient, reference: m[2]!.reference, status: 'DELIVERED', status_at: hourAgo.toISOString() }), type: ['Delivered', 'Delivered'] },
    { what: 'messaging.status.rcs', envelope: gatewayEnvelope('messaging.status.rcs', status(3, { status: 'EXPIRED' })), type: ['Undelivered', 'Expired'] },
    { what: 'a channel still to come (message.status.whatsapp)', envelope: gatewayEnvelope('message.status.whatsapp', status(4, { status: 'REJECTED', error: { hex_code: '0x1905', details: 'Unsupported sender' } })), type: ['Failed', 'Rejected'], error: { code: '0x1905', details: 'Unsupported sender' } },
    {
      what: 'recipient as a string, extra fields in the envelope, the event and the error',
      envelope: { ...gatewayEnvelope('message.status.sms', status(5, { status: 'DELIVERED', recipient: '+45 2000 0005', price: { amount: 0.2 }, error: null })), account_id: 7, webhook: { label: 'x' } },
      type: ['Delivered', 'Delivered']
    },
    { what: 'error as a bare string', envelope: gatewayEnvelope('message.status.sms', status(6, { status: 'REJECTED', error: 'Unsupported sender' })), type: ['Failed', 'Rejected'], error: { code: null, details: 'Unsupported sender' } },
    { what: 'error as another object', envelope: gatewayEnvelope('message.status.rcs', status(7, { status: 'UNDELIVERABLE', error: { code: 4101, message: 'Absent subscriber', more: [1] } })), type: ['Undelivered', 'Undeliverable'], error: { code: '4101', details: 'Absent subscriber' } },
    { what: 'status_at missing: the envelope\'s timestamp', envelope: gatewayEnvelope('message.status.sms', { ...status(8, { status: 'DELIVERED' }), status_at: undefined }, { timestamp: hourAgo }), type: ['Delivered', 'Delivered'], statusAt: hourAgo.toISOString() },
    { what: 'status_at without a zone: UTC', envelope: gatewayEnvelope('message.status.sms', status(9, { status: 'DELIVERED', status_at: '2026-01-02T03:04:05.678901' })), type: ['Delivered', 'Delivered'], statusAt: '2026-01-02T03:04:05.678Z' },
    { what: 'no reference: found by msg_id', envelope: gatewayEnvelope('message.status.sms', status(10, { status: 'DELIVERED', reference: null })), type: ['Delivered', 'Delivered'] },
    { what: 'SKIPPED is final', envelope: gatewayEnvelope('message.status.sms', status(11, { status: 'SKIPPED' })), type: ['Undelivered', 'Skipped'] },
    { what: 'ACCEPTED is final', envelope: gatewayEnvelope('message.status.sms', status(12, { status: 'ACCEPTED' })), type: ['Delivered', 'AcceptedByNetwork'] },
    { what: 'a status in lower case', envelope: gatewayEnvelope('messaging.status.sms', status(13, { status: 'delivered' })), type: ['Delivered', 'Delivered'] }
  ]
  for (const c of cases) t.same(await gateway.postWebhook(c.envelope), { status: 200, body: { status: 'recorded' } }, c.what)

  await until(service.reports, 'settled', () => reportsByReference(optimove).size === cases.length)
  const reports = reportsByReference(optimove)
  cases.forEach((c, i) => {
    const report = reports.get(m[i]!.reference!)!
    t.same(report.type, { status: c.type[0], subStatus: c.type[1] }, c.what)
    t.same(report.error, c.error, `${c.what}: error`)
    t.equal(report.providerMessageId, m[i]!.msg_id, `${c.what}: provider id`)
    t.equal(report.statusAt, c.statusAt ?? hourAgo.toISOString(), `${c.what}: statusAt`)
  })
  t.equal(optimove.received('delivery-report').length, cases.length, 'one report each, nothing else')
})

t.test('replies of every kind reach Optimove like SMS ones, in every loose shape', async (t) => {
  const { gateway, optimove, service } = await startStack(t, { INBOUND_TO: 'companyAbc' })
  const sentAt = '2026-03-04T05:06:07'
  const at = new Date(`${sentAt}Z`)
  // An envelope time within the window, whole seconds, for the reply that has no sent_at.
  const recent = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)
  const envelopes = [
    gatewayEnvelope('user-message.text.sms', { msg_id: 'm1', sender: 4520000001, sent_at: '2026-03-04T05:06:07.000000+00:00', content: { message: 'STOP', encoding: 'UTF8', header: null } }),
    gatewayEnvelope('user-message.text.sms', { msg_id: 'm2', sender: 4520000002, sent_at: sentAt, content: { message: null, encoding: 'UTF8' } }),
    rcsTextReply(4520000003, 'Yes please', { sentAt: at }),
    rcsLocationReply(4520000004, 55.6806024, 12.5790722, { sentAt: at }),
    gatewayEnvelope('user-message.text.sms', { sender: '+45 20 00 00 05', recipient: 451204, sent_at: at.toISOString(), content: { message: 'to a short code' }, keyword: 'foo', extra: { a: [1] } }),
    { ...gatewayEnvelope('user-message.text.sms', { sender: 4520000006, content: { message: 'no sent_at' } }, { timestamp: recent }), extra: true }
  ]
  for (const envelope of envelopes) t.same(await gateway.postWebhook(envelope), { status: 200, body: { status: 'recorded' } }, String(envelope.event_type))
  await until(service.replies, 'settled', () => repliesOf(optimove).length === envelopes.length)
  const byFrom = new Map(repliesOf(optimove).map((r) => [r.from, r]))
  t.same(byFrom.get('4520000001'), { to: 'companyAbc', from: '4520000001', message: 'STOP', sentAt })
  t.same(byFrom.get('4520000002'), { to: 'companyAbc', from: '4520000002', message: '', sentAt }, 'content.message null: an empty text; sent_at without zone: UTC')
  t.same(byFrom.get('4520000003'), { to: 'companyAbc', from: '4520000003', message: 'Yes please', sentAt }, 'RCS text: content is the text')
  t.same(byFrom.get('4520000004'), { to: 'companyAbc', from: '4520000004', message: 'geo:55.6806024,12.5790722', sentAt }, 'RCS location: a geo: URI')
  t.same(byFrom.get('4520000005'), { to: '451204', from: '4520000005', message: 'to a short code', sentAt }, 'the number the customer texted, when the event carries it; a sender as a string')
  t.same(byFrom.get('4520000006'), { to: 'companyAbc', from: '4520000006', message: 'no sent_at', sentAt: recent.toISOString().slice(0, 19) }, 'sent_at missing: the envelope\'s timestamp')
})

t.test('an event we cannot use is answered 200, kept whole and counted; only bad JSON, signatures and times are refused', async (t) => {
  const { gateway, optimove, service, dbPath } = await submitted(t, 1)
  const m = gateway.accepted[0]!
  const now = new Date()
  const unusable: Array<{ raw: string; eventId?: string; reason: RegExp; what: string }> = [
    { what: 'an unknown type', raw: JSON.stringify(gatewayEnvelope('account.balance.low', { credit: 1 }, { eventId: 'u-1' })), eventId: 'u-1', reason: /event type we do not handle/ },
    { what: 'a status with neither reference nor msg_id', raw: JSON.stringify(gatewayEnvelope('message.status.sms', { recipient: m.recipient, status: 'DELIVERED' }, { eventId: 'u-2' })), eventId: 'u-2', reason: /neither reference nor msg_id/ },
    { what: 'a status without status', raw: JSON.stringify(gatewayEnvelope('messaging.status.sms', { reference: m.reference }, { eventId: 'u-3' })), eventId: 'u-3', reason: /event\.status/ },
    { what: 'a reply without a sender', raw: JSON.stringify(gatewayEnvelope('user-message.text.sms', { content: { message: 'hi' } }, { eventId: 'u-4' })), eventId: 'u-4', reason: /event\.sender/ },
    { what: 'an envelope without a timestamp', raw: JSON.stringify({ event_id: 'u-5', event_type: 'message.status.sms', event: { reference: m.reference, status: 'DELIVERED' } }), eventId: 'u-5', reason: /no timestamp/ },
    { what: 'an envelope without an event', raw: JSON.stringify({ event_id: 'u-6', event_type: 'message.status.sms', timestamp: now.toISOString() }), eventId: 'u-6', reason: /expected object/ },
    { what: 'JSON that is not an object (no event id: remembered by its body)', raw: '[1,2,3]', reason: /not a JSON object/ }
  ]
  for (const u of unusable) {
    t.same(await gateway.postWebhook(undefined, { raw: u.raw }), { status: 200, body: { status: 'unusable' } }, u.what)
    t.same(await gateway.postWebhook(undefined, { raw: u.raw }), { status: 200, body: { status: 'duplicate' } }, `${u.what}: its replay`)
  }
  for (const u of unusable.filter((x) => x.eventId !== undefined)) {
    const row = (await storedEvent(dbPath, u.eventId!))!
    t.equal(row.raw, u.raw, `${u.what}: kept byte for byte, replayable`)
    t.match(row.errorDetails, u.reason, `${u.what}: with the reason`)
  }
  const { webhookEvents } = await inspectStoreAt(dbPath)
  t.same(webhookEvents.filter((e) => e.eventId.startsWith('body-sha256:')).map((e) => ({ raw: e.raw })), [{ raw: '[1,2,3]' }])
  t.equal(webhookEvents.filter((e) => e.raw !== null).length, unusable.length, 'one row each, replays included')

  const metrics = await service.metrics.registry.getSingleMetricAsString('bridge_webhook_events_total')
  const counted = [...metrics.matchAll(/outcome="unusable"} (\d+)/g)].reduce((n, x) => n + Number(x[1]), 0)
  t.equal(counted, unusable.length, 'each counted once as unusable')
  t.match(metrics, /event_type="account.balance.low",outcome="unusable"} 1/)

  // What is still refused: not JSON (400), a bad signature (401), a time outside the window (400), whatever the type.
  t.equal((await gateway.postWebhook(undefined, { raw: '{"event_id":' })).status, 400)
  t.equal((await gateway.postWebhook(gatewayEnvelope('account.balance.low', {}), { signature: 'v1=' + '0'.repeat(64) })).status, 401)
  const stale = await gateway.postWebhook(gatewayEnvelope('account.balance.low', {}, { timestamp: new Date(Date.now() - 73 * 3600_000) }))
  t.same([stale.status, stale.body.code], [400, 'BAD_REQUEST'], 'an unknown type outside the window is still refused')
  t.equal((await inspectStoreAt(dbPath)).messages[0]!.state, 'submitted', 'no unusable event touched the message')
  t.equal(optimove.received('delivery-report').length + optimove.received('incoming-message').length, 0, 'nothing went to Optimove')
})
