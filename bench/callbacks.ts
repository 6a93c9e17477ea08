/**
 * Callback benchmark, as deployed: the service (`node dist/main.js`) in a process of its own,
 * this process playing GatewayAPI and Optimove:
 *  (1) `--events` messages are sent (campaigns in, relayed to the simulated GatewayAPI);
 *  (2) a signed status event for each, posted from `--concurrency` connections to our webhook
 *      (verified, persisted with group commit, answered): events/s and p50/p99 latency;
 *  (3) meanwhile the service forwards the delivery reports they cause to the simulated
 *      Optimove: reports/s from the first event until the last report arrived.
 * Prints one JSON line. Usage: [DATABASE_URL=postgres://…] npm run bench:callbacks [-- --events 20000 --concurrency 64]
 */
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { BENCH } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { GATEWAYAPI_EVENTS_PATH } from '../src/gatewayapi/events-route.js'
import { signGatewaySignature } from '../src/lib/hmac-signature.js'
import { SimGatewayApi } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { freeLoopbackPort } from '../src/sim/http-server.js'
import { CAMPAIGN_SEND_PATH } from '../src/config.js'
import { cpuSeconds } from './cpu-accounting.js'
import { ready, spawnReplica } from './replica-process.js'
import { percentile } from './percentile.js'

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' } } })
const total = Number(values.events)
const concurrency = Number(values.concurrency)
const SECRET = BENCH.webhookSecret

const database = benchDatabase('callbacks')
const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
const gateway = await new SimGatewayApi({ token: BENCH.gatewayToken, lean: true }).start()
const service = spawnReplica(await freeLoopbackPort(), {
  DATABASE_URL: await database.fresh(),
  OPTIMOVE_BASE_URL: optimove.baseUrl,
  GATEWAYAPI_BASE_URL: gateway.url,
  ...(process.env.REPORT_CONCURRENCY === undefined ? {} : { REPORT_CONCURRENCY: process.env.REPORT_CONCURRENCY })
})

try {
  await ready(service)
  for (let c = 0; c * 10_000 < total; c++) {
    const n = Math.min(10_000, total - c * 10_000)
    const res = await optimove.sendCampaign({
      batchId: `b${c}`, requestId: `r${c}`, senderId: 'Bench', metadata: { campaignId: `c${c}`, tenantId: 1, scheduledTime: 0 },
      recipients: Array.from({ length: n }, (_, i) => ({ message: `Hello ${i}`, mobileNumber: String(4520000000 + c * 10_000 + i), customerId: `c${i}` }))
    }, { url: `${service.url}${CAMPAIGN_SEND_PATH}`, apiKey: BENCH.aggregatorApiKey })
    if (res.status !== 200) throw new Error(`intake: HTTP ${res.status}`)
  }
  await gateway.waitForAccepted(total)

  const bodies = gateway.accepted.map((m) => {
    const raw = JSON.stringify(gateway.statusEvent(m, 'DELIVERED'))
    return { raw, signature: signGatewaySignature(raw, SECRET) }
  })
  let reported = 0
  const allReported = new Promise<void>((resolve) => {
    optimove.on('call', (call: { endpoint: string; status: number }) => {
      if (call.endpoint === 'delivery-report' && call.status === 200 && ++reported === total) resolve()
    })
  })
  const pool = new Pool(service.url, { connections: concurrency, pipelining: 1 })
  const latencies: number[] = new Array(total)
  let next = 0
  const serviceCpuBefore = cpuSeconds(service.child.pid!)
  const clientCpuBefore = process.cpuUsage()
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
  const clientCpu = process.cpuUsage(clientCpuBefore)
  const cpuWhileIngesting = {
    service: Math.round((cpuSeconds(service.child.pid!) - serviceCpuBefore) * 100) / 100,
    client: Math.round((clientCpu.user + clientCpu.system) / 10_000) / 100,
    wall: Math.round(ingestSeconds * 100) / 100
  }
  await pool.close()
  await allReported
  const reportSeconds = (performance.now() - started) / 1000

  const reports = optimove.received('delivery-report').filter((c) => c.status === 200)
  console.log(JSON.stringify({
    bench: 'callbacks',
    store: database.store,
    events: total,
    concurrency,
    eventsPerSecond: Math.round(total / ingestSeconds),
    eventP50Ms: percentile(latencies, 50),
    eventP99Ms: percentile(latencies, 99),
    // Reports flow while the events come in: from the first event until the last report arrived.
    reportsPerSecond: Math.round(total / reportSeconds),
    // CPU seconds while the events came in: the service (both its threads), this client (and the simulators), against the wall clock.
    cpuWhileIngesting,
    reportsOnce: new Set(reports.map((c) => (c.body as { messageId: string }).messageId)).size === total && reports.length === total
  }))
} finally {
  await service.stop()
  await gateway.close()
  await optimove.close()
  await database.cleanUp()
}
