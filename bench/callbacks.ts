/**
 * Callback benchmark, in one process on loopback:
 *  (1) signed GatewayAPI status events posted concurrently to our webhook: verified,
 *      persisted (group commit) and answered — events/s and p50/p99 latency;
 *  (2) the delivery reports they caused, forwarded to the simulated Optimove — reports/s.
 * Prints one JSON line. Usage: npm run bench:callbacks [-- --events 20000 --concurrency 64]
 */
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { GATEWAYAPI_EVENTS_PATH } from '../src/gatewayapi/events-route.js'
import { signGatewaySignature } from '../src/lib/hmac-signature.js'
import { createLogger } from '../src/logger.js'
import { startService } from '../src/service.js'
import { SimGatewayApi } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' } } })
const total = Number(values.events)
const concurrency = Number(values.concurrency)
const SECRET = BENCH.webhookSecret

const database = benchDatabase('callbacks')
const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
const gateway = await new SimGatewayApi({ token: BENCH.gatewayToken, lean: true }).start()
const config = benchConfig({
  OPTIMOVE_BASE_URL: optimove.baseUrl,
  GATEWAYAPI_BASE_URL: gateway.url,
  DATABASE_URL: await database.fresh(),
  ...(process.env.REPORT_CONCURRENCY ? { REPORT_CONCURRENCY: process.env.REPORT_CONCURRENCY } : {})
})
const service = await startService(config, { logger: createLogger('silent') })
await service.handshakes
// Reports wait until the ingestion phase is measured.
await service.reports.stop()

for (let c = 0; c * 10_000 < total; c++) {
  const n = Math.min(10_000, total - c * 10_000)
  const res = await optimove.sendCampaign({
    batchId: `b${c}`, requestId: `r${c}`, senderId: 'Bench', metadata: { campaignId: `c${c}`, tenantId: 1, scheduledTime: 0 },
    recipients: Array.from({ length: n }, (_, i) => ({ message: `Hello ${i}`, mobileNumber: String(4520000000 + c * 10_000 + i), customerId: `c${i}` }))
  }, { url: `${service.url}/api/v1/campaigns/send`, apiKey: BENCH.aggregatorApiKey })
  if (res.status !== 200) throw new Error(`intake: HTTP ${res.status}`)
}
await gateway.waitForAccepted(total)

const bodies = gateway.accepted.map((m) => {
  const raw = JSON.stringify(gateway.statusEvent(m, 'DELIVERED'))
  return { raw, signature: signGatewaySignature(raw, SECRET) }
})
const pool = new Pool(service.url, { connections: concurrency, pipelining: 1 })
const latencies: number[] = new Array(total)
let next = 0
const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < total) {
    const i = next++
    const t0 = performance.now()
    const res = await pool.request({ path: GATEWAYAPI_EVENTS_PATH, method: 'POST', headers: { 'content-type': 'application/json', signature: bodies[i]!.signature }, body: bodies[i]!.raw })
    await res.body.dump()
    latencies[i] = performance.now() - t0
    if (res.statusCode !== 200) throw new Error(`event ${i}: HTTP ${res.statusCode}`)
  }
}))
const ingestSeconds = (performance.now() - started) / 1000
await pool.close()

const reportsStarted = performance.now()
service.reports.start()
let reported = 0
await new Promise<void>((resolve) => {
  optimove.on('call', (call: { endpoint: string; status: number }) => {
    if (call.endpoint === 'delivery-report' && call.status === 200 && ++reported === total) resolve()
  })
})
const reportSeconds = (performance.now() - reportsStarted) / 1000
await service.reports.stop()
const stats = await service.store.stats()

const sorted = [...latencies].sort((a, b) => a - b)
const pct = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10
console.log(JSON.stringify({
  bench: 'callbacks',
  store: database.store,
  events: total,
  concurrency,
  eventsPerSecond: Math.round(total / ingestSeconds),
  eventP50Ms: pct(50),
  eventP99Ms: pct(99),
  reportsPerSecond: Math.round(total / reportSeconds),
  reportConcurrency: config.outbox.concurrency,
  reportsDone: stats.reports.done,
  messagesFinal: stats.messages.final
}))
await service.stop()
await gateway.close()
await optimove.close()
await database.cleanUp()
