import { once } from 'node:events'
import t from 'tap'
import { request } from 'undici'
import { campaignBody, inspectStoreAt, logCapture, startRegistrationsStack, startStack, until } from '../helper.js'

// The operator's commands that change the store, through the admin API of a running service:
// what each does to the messages, reports and replies the service sends.

const TOKEN = 'admin-token-for-tests-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }

async function call (adminUrl: string, command: string, params?: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = params === undefined
    ? await request(`${adminUrl}/admin/v1/${command}`, { headers: auth })
    : await request(`${adminUrl}/admin/v1/${command}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(params) })
  return { status: res.statusCode, body: await res.body.json() }
}

const typesOf = (calls: Array<{ body: unknown; status: number }>) => calls.filter((c) => c.status === 200).map((c) => (c.body as any).type)

t.test('requeue: parked reports go to Optimove again once it accepts them, each exactly once', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t, { ADMIN_TOKEN: TOKEN })
  optimove.script('delivery-report', ...Array.from({ length: 3 }, () => ({ status: 400, body: { title: 'One or more validation errors occurred.', status: 400, errors: { CampaignId: ['Unknown campaign'] } } })))
  await sendCampaign(campaignBody({ recipients: 3 }))
  await gateway.waitForAccepted(3)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.filter((r) => r.state === 'parked').length === 3)
  t.match((await call(service.adminUrl, 'parked')).body.reports, [{ lastError: 'HTTP 400: One or more validation errors occurred.; CampaignId: Unknown campaign' }, {}, {}], 'listed with their last error')

  t.same(await call(service.adminUrl, 'requeue', {}), { status: 200, body: { reports: 3, incoming: 0 } })
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.every((r) => r.state === 'done'))
  const delivered = optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => (c.body as any).messageId)
  t.equal(delivered.length, 3, 'three reports delivered')
  t.equal(new Set(delivered).size, 3, 'each once')
  t.same(await call(service.adminUrl, 'requeue', {}), { status: 200, body: { reports: 0, incoming: 0 } }, 'a second requeue finds nothing')
  t.same(await call(service.adminUrl, 'requeue', { since: Date.now() }), { status: 200, body: { reports: 0, incoming: 0 } }, 'a time may be a JSON number')
  t.same(await call(service.adminUrl, 'requeue', { since: 'yesterday' }), {
    status: 400, body: { code: 'BAD_REQUEST', message: 'requeue: since: must be an ISO-8601 time (2026-11-30T10:00:00Z) or epoch milliseconds' }
  })
})

t.test('cancel: a batch not yet due is never sent; Optimove gets Failed/Cancelled for each message', async (t) => {
  const { optimove, gateway, service, sendCampaign } = await startStack(t, { ADMIN_TOKEN: TOKEN })
  await sendCampaign(campaignBody({ recipients: 3, scheduledTime: Date.now() + 3_600_000 }))
  const [found] = (await call(service.adminUrl, 'batch?key=batch-1')).body
  t.match(found, { batch: { batchId: 'batch-1', requestId: 'request-1' }, messages: { queued: 3 } })

  t.same(await call(service.adminUrl, 'cancel', { batch: found.batch.id }), { status: 200, body: { cancelled: 3, inFlight: 0, alreadyDone: 0 } })
  await until(service.reports, 'settled', () => typesOf(optimove.received('delivery-report')).length === 3)
  t.same(typesOf(optimove.received('delivery-report')), Array(3).fill({ status: 'Failed', subStatus: 'Cancelled' }))
  t.equal(gateway.accepted.length, 0, 'nothing was sent')
  t.same((await call(service.adminUrl, 'cancel', { batch: '424242' })).status, 404)
  t.same(await call(service.adminUrl, 'cancel', {}), { status: 400, body: { code: 'BAD_REQUEST', message: 'cancel: batch: Invalid input: expected string, received undefined' } })
  t.equal((await request(`${service.adminUrl}/admin/v1/cancel`, { headers: auth })).statusCode, 404, 'a command that changes the store is a POST only')
})

t.test('pause and resume one registration: its messages wait, the other registration\'s go; resumed, they go too', async (t) => {
  const stack = await startRegistrationsStack(t, [
    { name: 'tenant-a', senderId: 'BrandA', inboundTo: 'inbound-a' },
    { name: 'tenant-b', senderId: 'BrandB', inboundTo: 'inbound-b' }
  ], { ADMIN_TOKEN: TOKEN })
  const { tenants: [a, b], gateway, service } = stack
  t.same(await call(service.adminUrl, 'pause', { registration: 'tenant-a' }), { status: 200, body: { registration: 'tenant-a', paused: true, wasPaused: false } })
  t.match((await call(service.adminUrl, 'paused')).body, [{ registrationId: 'tenant-a' }])
  await stack.send(a!, { ...campaignBody({ recipients: 2 }), senderId: '' })
  await stack.send(b!, { ...campaignBody({ recipients: 3 }), senderId: '' })
  await gateway.waitForAccepted(3)
  // The dispatcher went to sleep with tenant-a's messages due: it passed them over.
  await once(service.dispatcher, 'sleeping')
  t.same(gateway.accepted.map((m) => m.sender), ['BrandB', 'BrandB', 'BrandB'], 'only tenant-b\'s messages were sent')
  const counts = Object.fromEntries((await call(service.adminUrl, 'batch?key=request-1')).body.map((b: any) => [b.batch.registrationId, b.messages]))
  t.match(counts, { 'tenant-a': { queued: 2, sending: 0, submitted: 0 }, 'tenant-b': { submitted: 3 } }, 'tenant-a\'s still wait, unclaimed')

  t.same(await call(service.adminUrl, 'resume', { registration: 'tenant-a' }), { status: 200, body: { registration: 'tenant-a', paused: false, wasPaused: true } })
  await gateway.waitForAccepted(5)
  t.same(gateway.accepted.slice(3).map((m) => m.sender), ['BrandA', 'BrandA'], 'tenant-a\'s messages go once it is resumed')
})

t.test('erase: the number leaves the store and the logs; the report owed for it still reaches Optimove, without it', async (t) => {
  const logs = logCapture()
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t, { ADMIN_TOKEN: TOKEN }, { logStream: logs.stream })
  await sendCampaign(campaignBody({ recipients: 2 }))
  await gateway.waitForAccepted(2)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
  t.equal((await call(service.adminUrl, 'message?key=%2B45%2020000000')).body.length, 1, 'found by the number as written')

  t.same(await call(service.adminUrl, 'erase', { number: 4520000099 }), { status: 200, body: { messages: 0, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 } }, 'a number may be a JSON number')
  t.same(await call(service.adminUrl, 'erase', { number: '+45 20000000' }), { status: 200, body: { messages: 1, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 } })
  t.notMatch(JSON.stringify(await inspectStoreAt(dbPath)), /4520000000|customer 0,/, 'neither the number nor its text is stored')
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  await until(service.reports, 'settled', () => optimove.received('delivery-report').filter((c) => c.status === 200).length === 2)
  const numbers = optimove.received('delivery-report').map((c) => (c.body as any).mobileNumber).sort()
  t.same(numbers, ['', '+45 20000001'], 'both reported; the erased one without its number')
  t.notMatch(logs.text(), /20000000(?!\d)/, 'the number is not in the service\'s logs')
})
