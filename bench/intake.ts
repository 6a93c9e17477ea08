/**
 * Intake benchmark: 10,000-recipient campaigns posted over loopback HTTP to the real app
 * (SQLite file, WAL, synchronous=FULL), one after another, each answered only once durable.
 * Prints one JSON line: latency percentiles per batch and stored rows per second.
 * Usage: npm run bench:intake [-- --batches 100 --recipients 10000 --concurrency 1]
 */
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { buildApp } from '../src/app.js'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { createLogger } from '../src/logger.js'
import { openStore } from '../src/core/store/open-store.js'
import { signHubSignature } from '../src/lib/hmac-signature.js'

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '100' },
    recipients: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '3' }
  }
})
const batches = Number(values.batches)
const recipients = Number(values.recipients)
const concurrency = Number(values.concurrency)
const warmup = Number(values.warmup)

const database = benchDatabase('intake')
const config = benchConfig()
const store = await openStore(await database.fresh(), { threaded: config.storeThread })
const app = buildApp(config, { store, logger: createLogger('silent') })
const address = await app.listen({ host: '127.0.0.1', port: 0 })

function campaign (n: number): string {
  return JSON.stringify({
    batchId: `bench-batch-${n}`,
    requestId: `bench-request-${n}`,
    senderId: 'Bench',
    metadata: { appId: 1, brandId: 'b', campaignId: `c-${n}`, campaignType: 1, channelId: 505, engagementId: 'e', isHashed: false, scheduledTime: 0, tenantId: 1001 },
    recipients: Array.from({ length: recipients }, (_, i) => ({
      message: `Hi customer ${i}, 20% off everything in store and online until Sunday night. Show this text at the till. Reply STOP to opt out.`,
      mobileNumber: `+45${20000000 + i}`,
      customerId: `customer-${n}-${i}`
    }))
  })
}

async function post (n: number): Promise<number> {
  const raw = campaign(n)
  const headers = {
    'content-type': 'application/json',
    'x-api-key': BENCH.aggregatorApiKey,
    'x-hub-signature': signHubSignature(raw, BENCH.sharedSecret)
  }
  const started = performance.now()
  const res = await request(`${address}/api/v1/campaigns/send`, { method: 'POST', headers, body: raw })
  const answer = await res.body.json() as { accepted: number }
  const took = performance.now() - started
  if (res.statusCode !== 200 || answer.accepted !== recipients) throw new Error(`batch ${n}: ${res.statusCode} ${JSON.stringify(answer)}`)
  return took
}

for (let i = 0; i < warmup; i++) await post(-1 - i)

const latencies: number[] = []
let next = 0
const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < batches) latencies.push(await post(next++))
}))
const elapsedS = (performance.now() - started) / 1000

const sorted = [...latencies].sort((a, b) => a - b)
const pct = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10
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
