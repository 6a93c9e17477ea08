import t from 'tap'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'
import { verifyHubSignature } from '../../src/lib/hmac-signature.js'

const reportsOf = (optimove: Awaited<ReturnType<typeof startStack>>['optimove']) =>
  optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => c.body as Record<string, any>)

t.test('end to end: campaign → relay → status events → exactly one delivery report per message', async (t) => {
  const { optimove, gateway, service, dbPath, config, sendCampaign } = await startStack(t)
  const body = campaignBody({ recipients: 1000 })
  const metadata = { ...(body.metadata as object), extraField: { nested: [1, 'a', null] }, tenantId: 1001 }
  const recipients = body.recipients as Array<{ mobileNumber: string; message: string }>
  recipients[10]!.mobileNumber = 'not-a-number'
  recipients[20]!.mobileNumber = '12'
  recipients[30]!.message = ''
  t.match((await sendCampaign({ ...body, metadata })).body, { accepted: 997, rejected: 3 })
  await gateway.waitForAccepted(997)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.filter((m) => m.state === 'submitted').length === 997)

  // GatewayAPI reports back: mostly DELIVERED, some EXPIRED, some REJECTED with an error,
  // every tenth event twice, and an ENROUTE arriving after the final DELIVERED.
  const expected = new Map<string, { status: string; subStatus: string; error?: { code: string; details: string } }>()
  const sent = [...gateway.accepted]
  for (const [i, m] of sent.entries()) {
    let status = 'DELIVERED'
    let error: { hex_code: string; details: string } | undefined
    if (i % 50 === 1) status = 'EXPIRED'
    if (i % 50 === 2) { status = 'REJECTED'; error = { hex_code: '0x1905', details: 'Unsupported sender' } }
    const event = gateway.statusEvent(m, status, error ? { error } : {})
    t.equal((await gateway.postWebhook(gateway.statusEvent(m, 'ENROUTE'))).status, 200)
    t.equal((await gateway.postWebhook(event)).status, 200)
    if (i % 10 === 0) t.same((await gateway.postWebhook(event)).body, { status: 'duplicate' }, 'a replayed event id is acknowledged, not acted on')
    if (i % 7 === 0) t.equal((await gateway.postWebhook(gateway.statusEvent(m, 'ENROUTE'))).status, 200)
    if (i % 13 === 0) await gateway.postWebhook(gateway.statusEvent(m, 'UNDELIVERABLE'))
    expected.set(m.reference!, status === 'DELIVERED' ? { status: 'Delivered', subStatus: 'Delivered' } : status === 'EXPIRED' ? { status: 'Undelivered', subStatus: 'Expired' } : { status: 'Failed', subStatus: 'Rejected', error: { code: '0x1905', details: 'Unsupported sender' } })
  }
  const { messages } = await inspectStoreAt(dbPath)
  for (const i of [10, 20, 30]) expected.set(messages[i]!.reference, { status: 'Failed', subStatus: 'InvalidRecipient' })

  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.every((r) => r.state === 'done') && reportsOf(optimove).length >= 1000)
  const reports = reportsOf(optimove)
  t.equal(reports.length, 1000, 'one report per message')
  t.equal(new Set(reports.map((r) => r.messageId)).size, 1000, 'no message reported twice')
  let wrongStatus = 0
  let wrongMetadata = 0
  let wrongFields = 0
  const stored = new Map(messages.map((m, i) => [m.reference, { ...m, i }]))
  for (const r of reports) {
    const want = expected.get(r.messageId)!
    if (r.type.status !== want.status || r.type.subStatus !== want.subStatus) wrongStatus++
    if (JSON.stringify(r.metadata) !== JSON.stringify(metadata)) wrongMetadata++
    const m = stored.get(r.messageId)!
    if (r.batchId !== 'batch-1' || r.requestId !== 'request-1' || r.customerId !== `customer-${m.i}` || r.senderId !== 'Brand' || r.mobileNumber !== recipients[m.i]!.mobileNumber || Number.isNaN(Date.parse(r.statusAt))) wrongFields++
    if (want.error !== undefined && JSON.stringify(r.error) !== JSON.stringify(want.error)) wrongFields++
  }
  t.equal(wrongStatus, 0, 'every report has the mapped status; later ENROUTE/UNDELIVERABLE never downgraded a final one')
  t.equal(wrongMetadata, 0, 'every report carries the campaign metadata unchanged, unknown fields included')
  t.equal(wrongFields, 0, 'batch, request, customer, number (exactly as Optimove sent it), sender and error fields are right')
  const invalid = reports.find((r) => r.messageId === messages[10]!.reference)!
  t.equal(invalid.providerMessageId, null)
  t.match(invalid.error, { details: /mobile number/ })
  const one = optimove.received('delivery-report')[0]!
  t.equal(one.headers['app-api-key'], config.registrations[0]!.appApiKey)
  t.ok(verifyHubSignature(one.headers['x-hub-signature'], Buffer.from(JSON.stringify(one.body)), config.registrations[0]!.sharedSecret).ok, 'signed with the shared secret')
})

t.test('forged, truncated, stale, future-dated and replayed events: exact answers, no report', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t)
  await sendCampaign(campaignBody({ recipients: 1 }))
  await gateway.waitForAccepted(1)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages[0]!.state === 'submitted')
  const m = gateway.accepted[0]!
  const delivered = gateway.statusEvent(m, 'DELIVERED')
  const raw = JSON.stringify(delivered)

  const forged = await gateway.postWebhook(delivered, { signature: 'v1=' + '0'.repeat(64) })
  t.same([forged.status, forged.body], [401, { message: 'Signature refused: mismatch', code: 'UNAUTHORIZED' }])
  const unsigned = await gateway.postWebhook(delivered, { signature: null })
  t.same([unsigned.status, unsigned.body], [401, { message: 'Signature refused: missing-header', code: 'UNAUTHORIZED' }])
  const truncated = await gateway.postWebhook(undefined, { raw: raw.slice(0, 40) })
  t.same([truncated.status, truncated.body], [400, { message: 'the body is not valid JSON', code: 'BAD_REQUEST' }])
  const otherSecret = await gateway.postWebhook(delivered, { signature: 'v1=' + 'ab'.repeat(32) + ',v2=zz' })
  t.equal(otherSecret.status, 401)
  const stale = await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED', { timestamp: new Date(Date.now() - 73 * 3600 * 1000) }))
  t.same([stale.status, stale.body], [400, { message: 'event timestamp is older than 259200 seconds', code: 'BAD_REQUEST' }])
  const future = await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED', { timestamp: new Date(Date.now() + 6 * 60 * 1000) }))
  t.same([future.status, future.body], [400, { message: 'event timestamp is more than 5 minutes in the future', code: 'BAD_REQUEST' }])
  // Within the window, a day-old retry by GatewayAPI is still taken.
  const dayOld = gateway.statusEvent(m, 'ENROUTE', { timestamp: new Date(Date.now() - 24 * 3600 * 1000) })
  t.same((await gateway.postWebhook(dayOld)).body, { status: 'recorded' })
  t.same((await gateway.postWebhook(dayOld)).body, { status: 'duplicate' })
  t.equal(optimove.received('delivery-report').length, 0, 'none of them produced a report')
  t.equal((await inspectStoreAt(dbPath)).messages[0]!.state, 'submitted')

  // A type we do not handle is kept whole and answered 200 (message.status.mms would be a status: any channel counts).
  const unknownType = await gateway.postWebhook({ ...delivered, event_id: 'other-1', event_type: 'account.balance.low' })
  t.same([unknownType.status, unknownType.body], [200, { status: 'unusable' }])
  const unknownRef = await gateway.postWebhook(gateway.statusEvent({ msg_id: 'X'.repeat(26), recipient: 4511111111, reference: 'nobody' }, 'DELIVERED'))
  t.same([unknownRef.status, unknownRef.body], [200, { status: 'unknown-message' }])
  const metrics = await service.metrics.registry.getSingleMetricAsString('bridge_webhook_events_total')
  t.match(metrics, /outcome="unknown-message"} 1/)
  t.match(metrics, /outcome="signature-refused"} 3/)
})

t.test('Optimove answers 500 for a while, then recovers: every report arrives once', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t)
  optimove.script('delivery-report', ...Array.from({ length: 30 }, () => ({ status: 500, body: { message: 'Internal error', error: 'x' } })))
  await sendCampaign(campaignBody({ recipients: 20 }))
  await gateway.waitForAccepted(20)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.filter((r) => r.state === 'done').length === 20)
  const calls = optimove.received('delivery-report')
  t.equal(calls.filter((c) => c.status === 500).length, 30)
  const ok = calls.filter((c) => c.status === 200).map((c) => (c.body as { messageId: string }).messageId)
  t.equal(ok.length, 20)
  t.equal(new Set(ok).size, 20, 'each report accepted exactly once')
})

t.test('a 400 with a validation body from Optimove parks the report with its reason; it is not retried', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t)
  optimove.script('delivery-report', { status: 400, body: { title: 'One or more validation errors occurred.', status: 400, errors: { CampaignId: ['Unknown campaign'] } } })
  await sendCampaign(campaignBody({ recipients: 1 }))
  await gateway.waitForAccepted(1)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages[0]!.state === 'submitted')
  await gateway.postWebhook(gateway.statusEvent(gateway.accepted[0]!, 'DELIVERED'))
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports[0]?.state === 'parked')
  t.match((await inspectStoreAt(dbPath)).reports[0], { state: 'parked', lastError: 'HTTP 400: One or more validation errors occurred.; CampaignId: Unknown campaign', attempts: 1 })
  t.equal(optimove.received('delivery-report').length, 1)
})

t.test('a customer\'s STOP reaches Optimove\'s incoming-message endpoint, signed', async (t) => {
  const { optimove, gateway, service, config } = await startStack(t, { INBOUND_TO: 'companyAbc' })
  const sentAt = new Date('2026-11-22T10:30:00.000Z')
  const answer = await gateway.postWebhook(gateway.replyEvent(4520000001, 'STOP', { timestamp: new Date() }))
  t.same(answer, { status: 200, body: { status: 'recorded' } })
  const reply = gateway.replyEvent(44123456789, 'stop')
  ;(reply.event as Record<string, unknown>).sent_at = sentAt.toISOString()
  await gateway.postWebhook(reply)
  await until(service.replies, 'settled', () => optimove.received('incoming-message').reduce((n, c) => n + (c.body as any).messages.length, 0) === 2)
  const messages = optimove.received('incoming-message').flatMap((c) => (c.body as any).messages)
  t.same(messages[0], { to: 'companyAbc', from: '4520000001', message: 'STOP', sentAt: messages[0].sentAt })
  t.same(messages[1], { to: 'companyAbc', from: '44123456789', message: 'stop', sentAt: '2026-11-22T10:30:00' })
  t.match(messages[0].sentAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
  const call = optimove.received('incoming-message')[0]!
  t.equal(call.headers['app-api-key'], config.registrations[0]!.appApiKey)
  t.ok(verifyHubSignature(call.headers['x-hub-signature'], Buffer.from(JSON.stringify(call.body)), config.registrations[0]!.sharedSecret).ok)
})
