/**
 * Fairness benchmark, with the service (`node dist/main.js`, two registrations), the simulated
 * GatewayAPI and this client each in a process of their own, as deployed: tenant A posts a
 * large campaign (1,000,000 messages by default, in campaigns of 10,000) scheduled a little
 * ahead, so that its whole backlog is stored before the first message leaves; once 100,000 of
 * A's have left, tenant B posts 1,000. Prints how long B's first and last message took to leave
 * (reach the simulated GatewayAPI) after B's campaign was accepted, when A's last one left, and
 * the service's resident memory: its peak over the whole run, and while the backlog was relayed.
 * Usage: [DATABASE_URL=postgres://…] npm run bench:fairness [-- --big 1000000 --small 1000 --batch 10000 --head-start 100000 --lead-ms 40000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { BENCH } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { freeLoopbackPort } from '../src/sim/http-server.js'
import { providerLabel } from '../src/core/request-splitter.js'
import { CAMPAIGN_SEND_PATH } from '../src/config.js'
import { startSimGatewayApiChild } from './sim-gatewayapi-child.js'
import { ready, residentMemory, spawnReplica } from './replica-process.js'

const { values } = parseArgs({
  options: {
    big: { type: 'string', default: '1000000' },
    small: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '10000' },
    'head-start': { type: 'string', default: '100000' },
    'lead-ms': { type: 'string', default: '40000' }
  }
})
const big = Number(values.big)
const small = Number(values.small)
const perCampaign = Number(values.batch)
const headStart = Math.min(big, Number(values['head-start']))
const leadMs = Number(values['lead-ms'])
const text = (i: number): string => `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.`
const MB = 1024 * 1024

const database = benchDatabase('fairness')
const tenants = ['tenant-a', 'tenant-b'] as const
const keyOf = (tenant: string): string => `${BENCH.aggregatorApiKey}-${tenant}`
const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
const sim = await startSimGatewayApiChild({ token: BENCH.gatewayToken, lean: true })
const folder = mkdtempSync(join(tmpdir(), 'bench-fairness-'))
const registrationsFile = join(folder, 'registrations.json')
writeFileSync(registrationsFile, JSON.stringify(tenants.map((name) => ({
  name, optimoveBaseUrl: optimove.baseUrl, appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret, aggregatorApiKey: keyOf(name), senderId: 'Bench'
}))))
const service = spawnReplica(await freeLoopbackPort(), {
  DATABASE_URL: await database.fresh(),
  REGISTRATIONS_FILE: registrationsFile,
  // The registrations file replaces the single registration's variables.
  OPTIMOVE_BASE_URL: undefined,
  OPTIMOVE_APP_API_KEY: undefined,
  OPTIMOVE_SHARED_SECRET: undefined,
  AGGREGATOR_API_KEY: undefined,
  SENDER_ID: undefined,
  GATEWAYAPI_BASE_URL: sim.url
})

try {
  await ready(service)
  let relayPeakRss = 0
  let relaying = false
  const sampler = setInterval(() => {
    if (relaying) relayPeakRss = Math.max(relayPeakRss, residentMemory(service.child.pid!).rss)
  }, 50)

  let campaigns = 0
  const post = async (tenant: string, recipients: number, offset: number, scheduledTime: number): Promise<void> => {
    const c = ++campaigns
    const res = await optimove.sendCampaign({
      batchId: `fair-${c}`,
      requestId: `fair-${c}`,
      senderId: 'Bench',
      metadata: { appId: 1, campaignId: `c${c}`, scheduledTime, tenantId: 1 },
      recipients: Array.from({ length: recipients }, (_, i) => ({ message: text(i), mobileNumber: String(4520000000 + offset + i), customerId: `c${i}` }))
    }, { url: `${service.url}${CAMPAIGN_SEND_PATH}`, apiKey: keyOf(tenant) })
    if (res.status !== 200) throw new Error(`intake for ${tenant}: HTTP ${res.status}`)
  }

  // A's whole campaign is stored before anything of it is sent: a backlog of `big` messages.
  const startAt = Date.now() + leadMs
  const started = performance.now()
  for (let sent = 0; sent < big; sent += perCampaign) await post('tenant-a', Math.min(perCampaign, big - sent), sent, startAt)
  const aAcceptedMs = performance.now() - started
  relaying = true
  await sim.waitForAccepted(headStart)
  await post('tenant-b', small, big, 0)
  const bAcceptedAt = performance.timeOrigin + performance.now()
  const bigLeftAtSmall = (await sim.labelTimes())[providerLabel('tenant-a')]?.count ?? 0
  const counts = await sim.waitForAccepted(big + small)
  clearInterval(sampler)
  const servicePeakRss = residentMemory(service.child.pid!).peak
  const times = await sim.labelTimes()
  const a = times[providerLabel('tenant-a')]!
  const b = times[providerLabel('tenant-b')]!
  if (counts.distinct !== big + small || a.count !== big || b.count !== small) throw new Error(`fairness: ${counts.distinct} distinct of ${big + small} (A ${a.count}, B ${b.count})`)
  console.log(JSON.stringify({
    bench: 'fairness',
    store: database.store,
    bigMessages: big,
    smallMessages: small,
    bigAcceptedMs: Math.round(aAcceptedMs),
    // The backlog was whole when sending began only if intake ended before A's scheduled time.
    intakeOverran: aAcceptedMs > leadMs,
    bigLeftWhenSmallAccepted: bigLeftAtSmall,
    smallFirstLeftMs: Math.round(b.first - bAcceptedAt),
    smallLastLeftMs: Math.round(b.last - bAcceptedAt),
    bigLastLeftMs: Math.round(a.last - bAcceptedAt),
    servicePeakRssMb: Math.round(servicePeakRss / MB),
    serviceRelayPeakRssMb: Math.round(relayPeakRss / MB)
  }))
} finally {
  await service.stop()
  await sim.close()
  await optimove.close()
  await database.cleanUp()
  rmSync(folder, { recursive: true, force: true })
}
