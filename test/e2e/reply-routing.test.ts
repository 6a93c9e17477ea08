import t from 'tap'
import { gatewayEnvelope } from '../../src/sim/gatewayapi-events.js'
import { campaignBody, inspectStoreAt, startRegistrationsStack, until, type TenantSpec } from '../helper.js'

type Stack = Awaited<ReturnType<typeof startRegistrationsStack>>
type Tenant = Stack['tenants'][number]

const TENANTS: TenantSpec[] = [
  { name: 'tenant-a', senderId: 'BrandA', inboundTo: 'inbound-a' },
  { name: 'tenant-b', senderId: 'BrandB', inboundTo: '4570000002' },
  { name: 'tenant-c', senderId: 'BrandC', inboundTo: 'inbound-c' }
]

/** A campaign of one registration to these numbers. */
function campaignTo (numbers: string[], requestId: string): Record<string, unknown> {
  const body = campaignBody({ recipients: numbers.length, requestId, batchId: requestId })
  ;(body.recipients as Array<{ mobileNumber: string }>).forEach((r, i) => { r.mobileNumber = numbers[i]! })
  return { ...body, senderId: '' }
}

const repliesOf = (tenant: Tenant) => tenant.sim.received('incoming-message').flatMap((c) => (c.body as any).messages as Array<Record<string, string>>)

/** A customer's SMS reply; `recipient`, when given, is the number they texted. */
function reply (sender: number, text: string, recipient?: unknown): Record<string, unknown> {
  return gatewayEnvelope('user-message.text.sms', { sender, sent_at: new Date().toISOString(), content: { message: text }, ...(recipient === undefined ? {} : { recipient }) })
}

/** Waits until the tenants together got `n` replies (each registration's outbox row settles on its own). */
async function repliesArrived (stack: Stack, n: number): Promise<void> {
  await until(stack.service.replies, 'settled', () => stack.tenants.reduce((sum, x) => sum + repliesOf(x).length, 0) === n)
}

t.test('a reply for a number whose messages were pruned still reaches the registration that texted it', async (t) => {
  const stack = await startRegistrationsStack(t, TENANTS.slice(0, 2))
  const { tenants: [a, b], gateway, service, dbPath } = stack as Stack & { tenants: [Tenant, Tenant] }
  t.match((await stack.send(a, campaignTo(['4530000001'], 'a-1'))).body, { accepted: 1 })
  t.match((await stack.send(b, campaignTo(['4530000100'], 'b-1'))).body, { accepted: 1 })
  await gateway.waitForAccepted(2)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
  for (const m of gateway.accepted) await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))
  await until(service.reports, 'settled', async () => {
    const { reports } = await inspectStoreAt(dbPath)
    return reports.length === 2 && reports.every((r) => r.state === 'done')
  })

  // Retention: messages older than the cutoff go; the number→registration memory is kept longer.
  const pruned = await service.store.prune(Date.now() + 60_000, Date.now() - 60_000)
  t.match(pruned, { messages: 2, reports: 2, recipients: 0 })
  t.same((await inspectStoreAt(dbPath)).messages, [], 'the messages are gone')
  const remembered = (await inspectStoreAt(dbPath)).recipients.map(({ msisdn, registrationId }) => ({ msisdn, registrationId }))
  t.same(remembered.sort((a, b) => a.msisdn.localeCompare(b.msisdn)), [
    { msisdn: '4530000001', registrationId: 'tenant-a' },
    { msisdn: '4530000100', registrationId: 'tenant-b' }
  ], 'the memory outlives them')

  t.same((await gateway.postWebhook(reply(4530000100, 'STOP'))).body, { status: 'recorded' })
  await repliesArrived(stack, 1)
  t.same(repliesOf(b).map((r) => [r.from, r.to, r.message]), [['4530000100', '4570000002', 'STOP']], 'tenant B texted it: B gets the reply, not the first registration')
  t.same(repliesOf(a), [])
})

t.test('several registrations: the number texted decides when it is known; otherwise every registration that texted the customer gets the reply', async (t) => {
  const stack = await startRegistrationsStack(t, TENANTS)
  const { tenants: [a, b, c], gateway, service, dbPath } = stack as Stack & { tenants: [Tenant, Tenant, Tenant] }
  // A and B both text 4540000001; C never does.
  await stack.send(a, campaignTo(['4540000001'], 'a-1'))
  await stack.send(b, campaignTo(['4540000001'], 'b-1'))
  await gateway.waitForAccepted(2)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))

  const cases: Array<{ envelope: Record<string, unknown>; to: Record<string, string | undefined>; what: string }> = [
    { what: 'no number texted: every registration that texted the customer', envelope: reply(4540000001, 'fan-out'), to: { 'tenant-a': 'inbound-a', 'tenant-b': '4570000002', 'tenant-c': undefined } },
    { what: 'the number texted is B\'s inboundTo (written as +45 …): only B', envelope: reply(4540000001, 'to-b', '+45 70 00 00 02'), to: { 'tenant-a': undefined, 'tenant-b': '4570000002', 'tenant-c': undefined } },
    { what: 'the number texted is C\'s sender: C, though C never texted the customer', envelope: reply(4540000001, 'to-c', 'brandc'), to: { 'tenant-a': undefined, 'tenant-b': undefined, 'tenant-c': 'brandc' } },
    { what: 'a number texted that no registration has: every registration that texted the customer, with that number', envelope: reply(4540000001, 'to-other', 4599999999), to: { 'tenant-a': '4599999999', 'tenant-b': '4599999999', 'tenant-c': undefined } },
    { what: 'a customer nobody texted, no number texted: the first registration', envelope: reply(4549999999, 'stranger'), to: { 'tenant-a': 'inbound-a', 'tenant-b': undefined, 'tenant-c': undefined } }
  ]
  for (const x of cases) t.same((await gateway.postWebhook(x.envelope)).body, { status: 'recorded' }, x.what)
  const expected = cases.reduce((n, x) => n + Object.values(x.to).filter((to) => to !== undefined).length, 0)
  await repliesArrived(stack, expected)
  for (const x of cases) {
    const text = ((x.envelope.event as any).content as { message: string }).message
    for (const tenant of [a, b, c]) {
      const got = repliesOf(tenant).filter((r) => r.message === text)
      t.same(got.map((r) => r.to), x.to[tenant.name] === undefined ? [] : [x.to[tenant.name]], `${x.what}: ${tenant.name}`)
    }
  }
  const fanOut = (await inspectStoreAt(dbPath)).incoming.filter((r) => r.text === 'fan-out').map((r) => r.registrationId)
  t.same(fanOut.sort(), ['tenant-a', 'tenant-b'], 'one incoming row per registration')
})
