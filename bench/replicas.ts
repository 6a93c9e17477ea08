/**
 * Replicas benchmark: 1, 2 and 3 service processes (`src/main.ts`, as deployed) on one
 * PostgreSQL database, relaying to the simulated GatewayAPI of this process.
 * For each count: a fresh schema, the replicas started, every campaign posted (round robin
 * across the replicas) with a schedule a few seconds ahead, so that the relay starts when intake
 * is over; then msgs/s from the scheduled time until the simulator has every message, and a
 * check that each reached it exactly once, and where the CPU went meanwhile (see
 * cpu-accounting.ts). Prints one JSON line.
 * With --reports, GatewayAPI also reports every message DELIVERED (to the first replica's
 * webhook), and the run waits for every delivery report to reach Optimove, checked once each.
 * Usage: DATABASE_URL=postgres://… npm run bench:replicas [-- --messages 100000 --batch 10000 --replicas 1,2,3 --lead-ms 10000 --reports]
 */
import { parseArgs } from 'node:util'
import { BENCH } from './bench-config.js'
import { SimGatewayApi } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { freeLoopbackPort } from '../src/sim/http-server.js'
import { GATEWAYAPI_EVENTS_PATH } from '../src/gatewayapi/events-route.js'
import { ready, spawnReplica, type Replica } from './replica-process.js'
import { benchDatabase } from './bench-database.js'
import { acceptedCounts } from './sim-gatewayapi-child.js'
import { startCpuMeter, type CpuFigures } from './cpu-accounting.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '10000' },
    replicas: { type: 'string', default: '1,2,3' },
    'lead-ms': { type: 'string', default: '10000' },
    reports: { type: 'boolean', default: false }
  }
})
const total = Number(values.messages)
const perCampaign = Number(values.batch)
const counts = values.replicas.split(',').map(Number)
const leadMs = Number(values['lead-ms'])
const withReports = values.reports
const database = benchDatabase('replicas')
if (database.store !== 'postgresql') {
  process.stderr.write('bench:replicas needs DATABASE_URL=postgres://… (a database it may create schemas in)\n')
  process.exit(2)
}
const text = (i: number): string => `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.`

async function run (replicaCount: number): Promise<{ replicas: number; msgsPerSecond: number; intakeMs: number; intakeOverran: boolean; cpu: CpuFigures | undefined; reportsOnce?: boolean; reportsSeconds?: number }> {
  const databaseUrl = await database.fresh()
  const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
  const ports = await Promise.all(Array.from({ length: replicaCount }, () => freeLoopbackPort()))
  const sim = await new SimGatewayApi({
    token: BENCH.gatewayToken,
    lean: true,
    ...(withReports ? { webhook: { url: `http://127.0.0.1:${ports[0]}${GATEWAYAPI_EVENTS_PATH}`, secret: BENCH.webhookSecret }, autoStatus: { pick: () => 'DELIVERED', concurrency: 32 } } : {})
  }).start()
  const replicas: Replica[] = []
  try {
    for (let i = 0; i < replicaCount; i++) {
      replicas.push(spawnReplica(ports[i]!, {
        DATABASE_URL: databaseUrl,
        OPTIMOVE_BASE_URL: optimove.baseUrl,
        GATEWAYAPI_BASE_URL: sim.url
      }))
    }
    await Promise.all(replicas.map(ready))
    const startAt = Date.now() + leadMs
    const started = performance.now()
    for (let c = 0; c * perCampaign < total; c++) {
      const replica = replicas[c % replicas.length]!
      const res = await optimove.sendCampaign({
        batchId: `bench-${c}`,
        requestId: `bench-${c}`,
        senderId: 'Bench',
        metadata: { appId: 1, campaignId: `c${c}`, scheduledTime: startAt, tenantId: 1 },
        recipients: Array.from({ length: Math.min(perCampaign, total - c * perCampaign) }, (_, i) => ({ message: text(i), mobileNumber: String(4520000000 + c * perCampaign + i), customerId: `c${i}` }))
      }, { url: `${replica.url}/api/v1/campaigns/send`, apiKey: BENCH.aggregatorApiKey })
      if (res.status !== 200) throw new Error(`intake: HTTP ${res.status}`)
    }
    const intakeMs = performance.now() - started
    // CPU while relaying: the replicas, this process (the simulators), the PostgreSQL server if on this host.
    let meter: ReturnType<typeof startCpuMeter> | undefined
    const metering = setTimeout(() => { meter = startCpuMeter({ service: replicas.map((r) => r.child.pid!), simulator: process.pid, database: true }) }, Math.max(0, startAt - Date.now()))
    await sim.waitForAccepted(total)
    clearTimeout(metering)
    const seconds = (Date.now() - startAt) / 1000
    const cpu = meter?.stop(total)
    const { distinct, twice } = acceptedCounts(sim)
    if (distinct !== total || twice > 0) throw new Error(`${replicaCount} replicas: ${distinct} distinct of ${total}, ${twice} sent more than once`)
    const relayed = { replicas: replicaCount, msgsPerSecond: Math.round(total / seconds), intakeMs: Math.round(intakeMs), intakeOverran: intakeMs > leadMs, cpu }
    if (!withReports) return relayed
    // Every report once: as many answered 200 as messages, each message's once.
    const delivered = () => optimove.received('delivery-report').filter((c) => c.status === 200)
    while (delivered().length < total) await new Promise((resolve) => setTimeout(resolve, 200))
    const reportsSeconds = (Date.now() - startAt) / 1000
    await Promise.all(replicas.map((r) => r.stop()))
    const ids = new Set(delivered().map((c) => (c.body as { messageId: string }).messageId))
    return { ...relayed, reportsOnce: delivered().length === total && ids.size === total, reportsSeconds: Math.round(reportsSeconds) }
  } finally {
    await Promise.all(replicas.map((r) => r.stop()))
    await sim.close()
    await optimove.close()
  }
}

const results = []
try {
  for (const n of counts) results.push(await run(n))
} finally {
  await database.cleanUp()
}
const one = results.find((r) => r.replicas === 1)
console.log(JSON.stringify({
  bench: 'replicas',
  store: 'postgresql',
  messages: total,
  results: results.map((r) => ({ ...r, ratioToOne: one === undefined ? null : Math.round((r.msgsPerSecond / one.msgsPerSecond) * 100) / 100 }))
}))
