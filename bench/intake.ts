/**
 * Intake benchmark: 10,000-recipient campaigns posted over loopback HTTP to the real app
 * (SQLite file, WAL, synchronous=FULL), one after another, each answered only once durable.
 * Prints one JSON line: latency percentiles per batch and stored rows per second.
 * With --while-relaying, as deployed: the service (`src/main.ts`), the simulated GatewayAPI and
 * this client each in a process of their own; the same campaigns are posted first with nothing
 * to relay (scheduled a day ahead), then while the service relays a backlog of `--backlog`
 * messages to the simulator; prints both phases' percentiles, and whether the relay was still
 * running when the last campaign was answered.
 * Usage: npm run bench:intake [-- --batches 100 --recipients 10000 --concurrency 1] [--while-relaying --backlog 300000]
 */
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { buildApp } from '../src/app.js'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { createLogger } from '../src/logger.js'
import { openStore } from '../src/core/store/open-store.js'
import { signHubSignature } from '../src/lib/hmac-signature.js'
import { freeLoopbackPort } from '../src/sim/http-server.js'
import { CAMPAIGN_SEND_PATH } from '../src/config.js'
import { startSimGatewayApiChild } from './sim-gatewayapi-child.js'
import { ready, spawnReplica } from './replica-process.js'
import { percentile } from './percentile.js'

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '100' },
    recipients: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' },
    'while-relaying': { type: 'boolean', default: false },
    backlog: { type: 'string', default: '300000' }
  }
})
const batches = Number(values.batches)
const recipients = Number(values.recipients)
const concurrency = Number(values.concurrency)
const warmup = Number(values.warmup)

function campaign (n: number, scheduledTime = 0, size = recipients): string {
  return JSON.stringify({
    batchId: `bench-batch-${n}`,
    requestId: `bench-request-${n}`,
    senderId: 'Bench',
    metadata: { appId: 1, brandId: 'b', campaignId: `c-${n}`, campaignType: 1, channelId: 505, engagementId: 'e', isHashed: false, scheduledTime, tenantId: 1001 },
    recipients: Array.from({ length: size }, (_, i) => ({
      message: `Hi customer ${i}, 20% off everything in store and online until Sunday night. Show this text at the till. Reply STOP to opt out.`,
      mobileNumber: `+45${20000000 + i}`,
      customerId: `customer-${n}-${i}`
    }))
  })
}

/** Posts a campaign body; how long its answer took (ms). */
async function postTo (url: string, n: number, raw: string, size = recipients): Promise<number> {
  const headers = {
    'content-type': 'application/json',
    'x-api-key': BENCH.aggregatorApiKey,
    'x-hub-signature': signHubSignature(raw, BENCH.sharedSecret)
  }
  const started = performance.now()
  const res = await request(`${url}${CAMPAIGN_SEND_PATH}`, { method: 'POST', headers, body: raw })
  const answer = await res.body.json() as { accepted: number }
  const took = performance.now() - started
  if (res.statusCode !== 200 || answer.accepted !== size) throw new Error(`batch ${n}: ${res.statusCode} ${JSON.stringify(answer)}`)
  return took
}

if (values['while-relaying']) {
  await whileRelaying(Number(values.backlog))
  process.exit(0)
}

/** Intake alone, then while the service relays a backlog: the service and the simulator in processes of their own. */
async function whileRelaying (backlog: number): Promise<void> {
  const database = benchDatabase('intake')
  const sim = await startSimGatewayApiChild({ token: BENCH.gatewayToken, lean: true })
  const service = spawnReplica(await freeLoopbackPort(), { DATABASE_URL: await database.fresh(), GATEWAYAPI_BASE_URL: sim.url })
  try {
    await ready(service)
    const later = Date.now() + 86_400_000
    let n = 0
    const phase = async (scheduledTime: number): Promise<number[]> => {
      const latencies: number[] = []
      for (let i = 0; i < batches; i++) {
        const raw = campaign(++n, scheduledTime)
        latencies.push(await postTo(service.url, n, raw))
      }
      return latencies
    }
    for (let i = 0; i < warmup; i++) await postTo(service.url, ++n, campaign(n, later))
    const alone = await phase(later)
    // The backlog, in campaigns of `recipients`, due at once: the relay starts with the first.
    for (let stored = 0; stored < backlog; stored += recipients) {
      const size = Math.min(recipients, backlog - stored)
      await postTo(service.url, ++n, campaign(n, 0, size), size)
    }
    const relaying = await phase(0)
    const { distinct } = await sim.waitForAccepted(0)
    console.log(JSON.stringify({
      bench: 'intake',
      mode: 'while-relaying',
      store: database.store,
      batches,
      recipientsPerBatch: recipients,
      backlog,
      alone: { p50Ms: percentile(alone, 50), p99Ms: percentile(alone, 99), maxMs: percentile(alone, 100) },
      whileRelaying: { p50Ms: percentile(relaying, 50), p99Ms: percentile(relaying, 99), maxMs: percentile(relaying, 100) },
      // Whether the relay was still busy when the last campaign was answered (else raise --backlog).
      relayRanThroughout: distinct < backlog + batches * recipients
    }))
  } finally {
    await service.stop()
    await sim.close()
    await database.cleanUp()
  }
}

const database = benchDatabase('intake')
const config = benchConfig()
const store = await openStore(await database.fresh(), { threaded: config.storeThread })
const app = buildApp(config, { store, logger: createLogger('silent') })
const address = await app.listen({ host: '127.0.0.1', port: 0 })

const post = async (n: number): Promise<number> => postTo(address, n, campaign(n))

for (let i = 0; i < warmup; i++) await post(-1 - i)

const latencies: number[] = []
let next = 0
const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < batches) latencies.push(await post(next++))
}))
const elapsedS = (performance.now() - started) / 1000

const pct = (p: number): number => percentile(latencies, p)
const stats = await store.stats()
console.log(JSON.stringify({
  bench: 'intake',
  store: database.store,
  batches,
  recipientsPerBatch: recipients,
  concurrency,
  bodyBytes: Buffer.byteLength(campaign(0)),
  p50Ms: pct(50),
  p99Ms: pct(99),
  maxMs: pct(100),
  rowsPerSecond: Math.round((batches * recipients) / elapsedS),
  storedMessages: stats.messages.queued
}))
await app.close()
await store.close()
await database.cleanUp()
