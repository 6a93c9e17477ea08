import t from 'tap'
import { inspectStoreAt, startStack, until } from '../helper.js'

const unusableCampaign = (n: number) => ({
  batchId: 'b-1',
  requestId: 'r-1',
  metadata: { campaignId: 'c-1' },
  recipients: Array.from({ length: n }, (_, i) => ({ message: `Hi ${i}`, mobileNumber: `unusable-${i}`, customerId: `c${i}` }))
})

t.test('Optimove answers 409, 429 with Retry-After, and 401 then 200: every report delivered exactly once, none parked', async (t) => {
  const { optimove, service, dbPath, sendCampaign } = await startStack(t, { CREDENTIALS_PROBE_SECONDS: '1' })
  optimove.script('delivery-report',
    { status: 409, body: { title: 'Duplicate', message: 'already received' } },
    { status: 429, body: { message: 'Too many requests' }, headers: { 'retry-after': '1' } },
    { status: 401, body: { message: 'Unauthorized: invalid API token.' } },
    { status: 401, body: { message: 'Unauthorized: invalid API token.' } })
  t.match((await sendCampaign(unusableCampaign(6))).body, { rejected: 6 })

  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.every((r) => r.state === 'done'))
  const calls = optimove.received('delivery-report')
  const taken = calls.filter((c) => c.status === 200 || c.status === 409).map((c) => (c.body as { messageId: string }).messageId)
  t.equal(taken.length, 6, 'six reports taken')
  t.equal(new Set(taken).size, 6, 'each exactly once')
  t.same(calls.map((c) => c.status).filter((s) => s !== 200).sort(), [401, 401, 409, 429], 'the scripted refusals were all met')
  t.equal((await inspectStoreAt(dbPath)).reports.filter((r) => r.state === 'parked').length, 0, 'none parked')
  t.same(service.reports.pausedRegistrations(), [], 'the registration is no longer held back')
})

t.test('while Optimove refuses a registration\'s token, its reports wait (none parked) and go out once it accepts it again', async (t) => {
  const { optimove, service, dbPath, sendCampaign } = await startStack(t, { CREDENTIALS_PROBE_SECONDS: '1' })
  optimove.script('delivery-report', ...Array.from({ length: 3 }, () => ({ status: 403, body: { message: 'Forbidden' } })))
  t.match((await sendCampaign(unusableCampaign(20))).body, { rejected: 20 })

  // The first refusal pauses the registration: the rest are not sent one by one into the refusal.
  await until(service.reports, 'settled', () => service.reports.pausedRegistrations().length === 1)
  t.match(service.reports.pausedRegistrations(), [{ registration: 'default', state: 'paused', reason: /HTTP 403/ }])
  await until(service.reports, 'settled', async () => (await inspectStoreAt(dbPath)).reports.every((r) => r.state === 'done'))
  const calls = optimove.received('delivery-report')
  const refused = calls.filter((c) => c.status === 403).length
  t.ok(refused <= 3, `${refused} requests met the refusal`)
  const taken = calls.filter((c) => c.status === 200).map((c) => (c.body as { messageId: string }).messageId)
  t.equal(new Set(taken).size, 20)
  t.equal(taken.length, 20, 'each exactly once')
})
