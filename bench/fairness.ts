/**
 * Fairness benchmark: tenant A posts a large campaign (1,000,000 messages by default, in
 * campaigns of 10,000) while sending is stopped, so that its whole backlog waits; sending
 * starts, and once 100,000 of A's have left, tenant B posts 1,000. Prints how long B's first and
 * last message took to leave (reach the simulated GatewayAPI) after B's campaign was accepted,
 * when A's last one left, and the peak RSS of the process (the service, and the client posting
 * the campaigns) while the backlog was relayed. Two registrations of one service; the simulated
 * GatewayAPI in a process of its own, as in `bench:relay`.
 * Usage: [DATABASE_URL=postgres://…] npm run bench:fairness [-- --big 1000000 --small 1000 --batch 10000 --head-start 100000]
 */
import { parseArgs } from 'node:util'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { createLogger } from '../src/logger.js'
import { startService } from '../src/service.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { providerLabel } from '../src/core/request-splitter.js'
import { CAMPAIGN_SEND_PATH } from '../src/config.js'
import { startSimGatewayApiChild } from './sim-gatewayapi-child.js'

const { values } = parseArgs({ options: { big: { type: 'string', default: '1000000' }, small: { type: 'string', default: '1000' }, batch: { type: 'string', default: '10000' }, 'head-start': { type: 'string', default: '100000' } } })
const big = Number(values.big)
const small = Number(values.small)
const perCampaign = Number(values.batch)
const headStart = Math.min(big, Number(values['head-start']))
const text = (i: number): string => `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.`

const database = benchDatabase('fairness')
const config = benchConfig()
const tenants = ['tenant-a', 'tenant-b'] as const
const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
const sim = await startSimGatewayApiChild({ token: BENCH.gatewayToken, lean: true })
const [template] = config.registrations
const registrations = tenants.map((id) => ({ ...template!, id, aggregatorApiKey: `${BENCH.aggregatorApiKey}-${id}`, optimoveBaseUrl: optimove.baseUrl }))
const svc = await startService({ ...config, databaseUrl: await database.fresh(), registrations, gatewayapi: { ...config.gatewayapi, baseUrl: sim.url } }, { logger: createLogger('silent') })
await svc.handshakes

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

// A's whole campaign is stored before anything is sent: a backlog of `big` messages.
await svc.dispatcher.stop()
const started = performance.now()
for (let sent = 0; sent < big; sent += perCampaign) await post('tenant-a', Math.min(perCampaign, big - sent), sent)
const aAcceptedMs = performance.now() - started
const intakePeakRss = peakRss
peakRss = 0
svc.dispatcher.start()
await sim.waitForAccepted(headStart)
await post('tenant-b', small, big)
const bAcceptedAt = performance.timeOrigin + performance.now()
const bigLeftAtSmall = (await sim.labelTimes())[providerLabel('tenant-a')]?.count ?? 0
const counts = await sim.waitForAccepted(big + small)
clearInterval(sampler)
const times = await sim.labelTimes()
const a = times[providerLabel('tenant-a')]!
const b = times[providerLabel('tenant-b')]!
if (counts.distinct !== big + small || a.count !== big || b.count !== small) throw new Error(`fairness: ${counts.distinct} distinct of ${big + small} (A ${a.count}, B ${b.count})`)
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
  smallFirstLeftMs: Math.round(b.first - bAcceptedAt),
  smallLastLeftMs: Math.round(b.last - bAcceptedAt),
  bigLastLeftMs: Math.round(a.last - bAcceptedAt),
  intakePeakRssMb: Math.round(intakePeakRss / 1024 / 1024),
  relayPeakRssMb: Math.round(peakRss / 1024 / 1024)
}))
