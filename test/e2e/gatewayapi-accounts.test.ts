import t from 'tap'
import { request } from 'undici'
import { campaignBody, startRegistrationsStack, until, type TenantSpec } from '../helper.js'

// Registrations on GatewayAPI accounts of their own: each one's messages go with its token to its
// host, its webhooks are taken with its secret, and a refusal of one account's token halts that
// account alone.

const TENANTS: TenantSpec[] = [
  { name: 'tenant-a', senderId: 'BrandA', inboundTo: 'inbound-a' },
  { name: 'tenant-b', senderId: 'BrandB', inboundTo: 'inbound-b', ownGatewayApi: true }
]

const campaign = (requestId: string, recipients: number) => ({ ...campaignBody({ recipients, requestId, batchId: requestId }), senderId: '' })

t.test('each registration\'s messages go with its own account\'s token to its own host, and its status events are taken with its own secret', async (t) => {
  const stack = await startRegistrationsStack(t, TENANTS)
  const [a, b] = stack.tenants
  t.not(a!.gateway, b!.gateway, 'two hosts')
  await stack.send(a!, campaign('a-1', 2))
  await stack.send(b!, campaign('b-1', 3))
  await a!.gateway.waitForAccepted(2)
  await b!.gateway.waitForAccepted(3)
  // Each simulated host takes only its own account's token (any other is a 401).
  t.same(a!.gateway.accepted.map((m) => m.sender), ['BrandA', 'BrandA'], 'tenant-a\'s on the environment\'s account')
  t.same(b!.gateway.accepted.map((m) => m.sender), ['BrandB', 'BrandB', 'BrandB'], 'tenant-b\'s on its own')

  for (const m of b!.gateway.accepted) t.same(await b!.gateway.postWebhook(b!.gateway.statusEvent(m, 'DELIVERED')), { status: 200, body: { status: 'recorded' } }, 'signed with tenant-b\'s secret')
  const forged = await b!.gateway.postWebhook(b!.gateway.statusEvent(b!.gateway.accepted[0]!, 'DELIVERED'), { signature: 'v1=' + '0'.repeat(64) })
  t.equal(forged.status, 401, 'a signature of no account is refused')
  await until(stack.service.reports, 'settled', () => b!.sim.received('delivery-report').filter((c) => c.status === 200).length === 3)
  t.equal(a!.sim.received('delivery-report').length, 0, 'the reports go to tenant-b\'s Optimove only')
})

t.test('a 401 for one account halts that account alone: the other registration\'s messages still go, and /health names the halted account', async (t) => {
  const stack = await startRegistrationsStack(t, TENANTS)
  const [a, b] = stack.tenants
  a!.gateway.refuseToken()
  await stack.send(a!, campaign('a-1', 2))
  await until(stack.service.dispatcher, 'settled', () => stack.service.dispatcher.state().halted !== undefined)
  await stack.send(b!, campaign('b-1', 3))
  await b!.gateway.waitForAccepted(3)
  t.equal(a!.gateway.accepted.length, 0, 'nothing went through the refused account')
  t.match(stack.service.dispatcher.sendingByAccount(), [
    { account: 'default', sending: { state: 'halted' } },
    { account: 'tenant-b', sending: { state: 'ok' } }
  ])
  const health = await (await request(`${stack.service.adminUrl}/health`)).body.json() as { sending: string }
  t.match(health.sending, /^GatewayAPI account default: halted: provider refused our credentials \(HTTP 401\)/)

  // A second campaign of tenant-b goes while the other account stays halted.
  await stack.send(b!, campaign('b-2', 1))
  await b!.gateway.waitForAccepted(4)
  t.equal(stack.service.dispatcher.sendingByAccount()[0]!.sending.state, 'halted', 'the refused account is still halted')
})
