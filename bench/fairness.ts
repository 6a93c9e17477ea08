/**
 * Fairness benchmark: tenant A posts a large campaign (1,000,000 messages by default, in
 * campaigns of 10,000) and, once it is all accepted and relaying, tenant B posts 1,000. Prints
 * how long B's first and last message took to leave (reach the simulated GatewayAPI) after B's
 * campaign was accepted, and when A's last one left. Two registrations of one service, the
 * simulated GatewayAPI in this process (as in `bench:relay`).
 * Usage: [DATABASE_URL=postgres://…] npm run bench:fairness [-- --big 1000000 --small 1000 --batch 10000]
 */
import { parseArgs } from 'node:util'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { createLogger } from '../src/logger.js'
import { startService } from '../src/service.js'
import { SimGatewayApi } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { providerLabel } from '../src/core/request-splitter.js'
import { CAMPAIGN_SEND_PATH } from '../src/config.js'

const { values } = parseArgs({ options: { big: { type: 'string', default: '1000000' }, small: { type: 'string', default: '1000' }, batch: { type: 'string', default: '10000' } } })
const big = Number(values.big)
const small = Number(values.small)
const perCampaign = Number(values.batch)
const text = (i: number): string => `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.`

const database = benchDatabase('fairness')
const config = benchConfig()
const tenants = ['tenant-a', 'tenant-b'] as const
const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
const sim = await new SimGatewayApi({ token: BENCH.gatewayToken, lean: true }).start()
const [template] = config.registrations
const registrations = tenants.map((id) => ({ ...template!, id, aggregatorApiKey: `${BENCH.aggregatorApiKey}-${id}`, optimoveBaseUrl: optimove.baseUrl }))
const svc = await startService({ ...config, databaseUrl: await database.fresh(), registrations, gatewayapi: { ...config.gatewayapi, baseUrl: sim.url } }, { logger: createLogger('silent') })
await svc.handshakes

// When each tenant's messages left: the simulator labels each accepted message with its registration.
const left = new Map<string, { first?: number; last?: number; count: number }>(tenants.map((id) => [providerLabel(id), { count: 0 }]))
const a = left.get(providerLabel('tenant-a'))!
const b = left.get(providerLabel('tenant-b'))!
let seen = 0
sim.on('accepted', () => {
  const now = performance.now()
  for (; seen < sim.accepted.length; seen++) {
    const tenant = left.get(String(sim.accepted[seen]!.label))
    if (tenant === undefined) continue
    tenant.first ??= now
    tenant.last = now
    tenant.count++
  }
})

let peakRss = 0
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 50)

let campaigns = 0
async function post (tenant: typeof tenants[number], recipients: number, offset: number): Promise<void> {
  const c = ++campaigns
  const res = await optimove.sendCampaign({
    batchId: `fair-${c}`,
    requestId: `fair-${c}`,
    senderId: 'Bench',
    metadata: { appId: 1, campaignId: `c${c}`, scheduledTime: 0, tenantId: 1 },
    recipients: Array.from({ length: recipients }, (_, i) => ({ message: text(i), mobileNumber: String(4520000000 + offset + i), customerId: `c${i}` }))
  }, { url: `${svc.url}${CAMPAIGN_SEND_PATH}`, apiKey: `${BENCH.aggregatorApiKey}-${tenant}` })
  if (res.status !== 200) throw new Error(`intake for ${tenant}: HTTP ${res.status}`)
}

const started = performance.now()
for (let sent = 0; sent < big; sent += perCampaign) await post('tenant-a', Math.min(perCampaign, big - sent), sent)
const aAcceptedMs = performance.now() - started
await post('tenant-b', small, big)
const bAcceptedAt = performance.now()
const bigLeftAtSmall = a.count
await sim.waitForAccepted(big + small)
clearInterval(sampler)
await svc.stop()
await sim.close()
await optimove.close()
await database.cleanUp()
console.log(JSON.stringify({
  bench: 'fairness',
  store: database.store,
  bigMessages: big,
  smallMessages: small,
  bigAcceptedMs: Math.round(aAcceptedMs),
  bigLeftWhenSmallAccepted: bigLeftAtSmall,
  smallFirstLeftMs: Math.round(b.first! - bAcceptedAt),
  smallLastLeftMs: Math.round(b.last! - bAcceptedAt),
  bigLastLeftMs: Math.round(a.last! - bAcceptedAt),
  peakRssMb: Math.round(peakRss / 1024 / 1024)
}))
