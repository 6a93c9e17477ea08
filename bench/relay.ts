/**
 * Relay benchmark, against the simulated GatewayAPI on loopback, in a process of its own as a
 * deployment's GatewayAPI would be (`--sim same-process` runs it on the service's own event loop):
 *  (a) ceiling: a bare undici loop posting the same /mobile/multi bodies with the same concurrency;
 *  (b) the service: 100,000 messages from campaign intake (HTTP, signed) to the simulator.
 * Prints one JSON line: msgs/s of both, their ratio, peak RSS, and where the relay's CPU went
 * (see cpu-accounting.ts: near `machineBusy` 1, the machine was the limit, not the service).
 * Usage: [DATABASE_URL=postgres://…] npm run bench:relay [-- --messages 100000 --batch 10000 --sim own-process|same-process]
 */
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { BENCH, benchConfig } from './bench-config.js'
import { benchDatabase } from './bench-database.js'
import { createLogger } from '../src/logger.js'
import { startService } from '../src/service.js'
import { SimGatewayApi } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { acceptedCounts, startSimGatewayApiChild, type AcceptedCounts } from './sim-gatewayapi-child.js'
import { startCpuMeter, type CpuFigures } from './cpu-accounting.js'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' }, batch: { type: 'string', default: '10000' }, sim: { type: 'string', default: 'own-process' } } })
if (values.sim !== 'own-process' && values.sim !== 'same-process') throw new Error('--sim must be own-process or same-process')
const simWhere = values.sim
const total = Number(values.messages)
const perCampaign = Number(values.batch)
const TOKEN = BENCH.gatewayToken
const text = (i: number): string => `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.`

let peakRss = 0
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 20)

const database = benchDatabase('relay')
const config = benchConfig()
const { concurrency, batchSize } = config.send

/** The simulated GatewayAPI, where `--sim` says, with what the benchmark asks of it. */
async function startSim (): Promise<{ url: string; pid?: number; waitForAccepted: (n: number) => Promise<AcceptedCounts>; close: () => Promise<void> }> {
  if (simWhere === 'own-process') return startSimGatewayApiChild({ token: TOKEN, lean: true })
  const sim = await new SimGatewayApi({ token: TOKEN, lean: true }).start()
  return {
    url: sim.url,
    waitForAccepted: async (n) => {
      await sim.waitForAccepted(n)
      return acceptedCounts(sim)
    },
    close: () => sim.close()
  }
}

/** (a) The ceiling: what the simulator takes from a loop that does nothing else. */
async function ceiling (): Promise<number> {
  const sim = await startSim()
  const pool = new Pool(sim.url, { connections: concurrency })
  const bodies = Array.from({ length: Math.ceil(total / batchSize) }, (_, b) => JSON.stringify({
    messages: Array.from({ length: Math.min(batchSize, total - b * batchSize) }, (_, i) => ({
      sender: 'Bench', recipient: 4520000000 + b * batchSize + i, message: text(i), reference: `ref-${b}-${i}`
    }))
  }))
  const headers = { authorization: `Token ${TOKEN}`, 'content-type': 'application/json', accept: 'application/json' }
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      const res = await pool.request({ path: '/mobile/multi', method: 'POST', headers, body })
      await res.body.json()
      if (res.statusCode !== 202) throw new Error(`ceiling: HTTP ${res.statusCode}`)
    }
  }))
  const rate = total / ((performance.now() - started) / 1000)
  const counts = await sim.waitForAccepted(total)
  if (counts.distinct !== total) throw new Error(`ceiling: ${counts.distinct} distinct of ${total} accepted`)
  await pool.close()
  await sim.close()
  return rate
}

/**
 * (b) The service, measured twice over the same kind of load:
 *  end to end: campaigns in over HTTP while the dispatcher relays, until the simulator has all;
 *  relay only: messages already stored, from dispatcher start until the simulator has all.
 */
async function service (mode: 'end-to-end' | 'relay-only'): Promise<{ rate: number; intakeMs: number; cpu?: CpuFigures }> {
  const optimove = await new SimOptimove({ appApiKey: BENCH.appApiKey, sharedSecret: BENCH.sharedSecret }).start()
  const sim = await startSim()
  const svc = await startService({ ...config, databaseUrl: await database.fresh(), registrations: config.registrations.map((r) => ({ ...r, optimoveBaseUrl: optimove.baseUrl })), gatewayapi: { ...config.gatewayapi, baseUrl: sim.url } }, { logger: createLogger('silent') })
  await svc.handshakes
  const url = `${svc.url}/api/v1/campaigns/send`
  if (mode === 'relay-only') await svc.dispatcher.stop()
  const campaign = (c: number) => ({
    batchId: `bench-${c}`,
    requestId: `bench-${c}`,
    senderId: 'Bench',
    metadata: { appId: 1, campaignId: `c${c}`, scheduledTime: 0, tenantId: 1 },
    recipients: Array.from({ length: Math.min(perCampaign, total - c * perCampaign) }, (_, i) => ({ message: text(i), mobileNumber: String(4520000000 + c * perCampaign + i), customerId: `c${i}` }))
  })
  let started = performance.now()
  for (let c = 0; c * perCampaign < total; c++) {
    const res = await optimove.sendCampaign(campaign(c), { url, apiKey: BENCH.aggregatorApiKey })
    if (res.status !== 200) throw new Error(`intake: HTTP ${res.status}`)
  }
  const intakeMs = performance.now() - started
  // The relay's CPU (relay only: end to end, intake has already run by now).
  const meter = mode === 'relay-only'
    ? startCpuMeter({ service: [process.pid], database: database.store === 'postgresql', ...(sim.pid === undefined ? {} : { simulator: sim.pid }) })
    : undefined
  if (mode === 'relay-only') {
    started = performance.now()
    svc.dispatcher.start()
  }
  const counts = await sim.waitForAccepted(total)
  const rate = total / ((performance.now() - started) / 1000)
  const cpu = meter?.stop(total)
  if (counts.distinct !== total) throw new Error(`service: ${counts.distinct} distinct of ${total}`)
  await svc.stop()
  await sim.close()
  await optimove.close()
  return { rate, intakeMs, cpu }
}

// The service runs first, so that its peak RSS is not the ceiling loop's.
const endToEnd = await service('end-to-end')
peakRss = Math.max(peakRss, process.memoryUsage().rss)
const servicePeakRss = peakRss
const relayOnly = await service('relay-only')
const ceilingRate = await ceiling()
clearInterval(sampler)
await database.cleanUp()
console.log(JSON.stringify({
  bench: 'relay',
  store: database.store,
  sim: simWhere,
  messages: total,
  concurrency,
  batchSize,
  ceilingMsgsPerSecond: Math.round(ceilingRate),
  relayMsgsPerSecond: Math.round(relayOnly.rate),
  relayRatio: Math.round((relayOnly.rate / ceilingRate) * 100) / 100,
  // Where the relay's CPU went (the service, the simulator, the PostgreSQL server if on this host), and how busy the machine was.
  relayCpu: relayOnly.cpu,
  endToEndMsgsPerSecond: Math.round(endToEnd.rate),
  endToEndRatio: Math.round((endToEnd.rate / ceilingRate) * 100) / 100,
  endToEndIntakeMs: Math.round(endToEnd.intakeMs),
  peakRssMb: Math.round(servicePeakRss / 1024 / 1024)
}))
