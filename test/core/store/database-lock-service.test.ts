import t from 'tap'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { childStack, killGroup, spawnInGroup } from '../../helper.js'

const LOCK_MS = 20_000
const HOLDER = fileURLToPath(new URL('../../fixtures/hold-sqlite-lock.mjs', import.meta.url))

t.test('another process holds the SQLite write lock for 20 s: /health stays prompt, a GatewayAPI event is answered within 2 s', async (t) => {
  const { gateway, dbPath, spawn: spawnService, url } = await childStack(t)
  const service = spawnService()
  await service.waitForLog((l) => l.msg === 'ready')

  const holder = spawnInGroup(process.execPath, [HOLDER, dbPath, String(LOCK_MS)], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => killGroup(holder))
  const lines = createInterface({ input: holder.stdout! })
  const [first] = await once(lines, 'line') as [string]
  t.equal(first, 'locked')
  const released = once(holder, 'exit')

  // Probe /health every 50 ms for as long as the lock is held.
  const latencies: number[] = []
  let probing = true
  const prober = (async () => {
    while (probing) {
      const started = performance.now()
      const res = await request(`${url}/health`, { headersTimeout: 5000, bodyTimeout: 5000 })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`/health answered ${res.statusCode}`)
      latencies.push(performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()

  // A customer's reply arrives while the database is locked: answered (200 or 503) in time.
  const started = performance.now()
  const answer = await gateway.postWebhook(gateway.replyEvent(4520000001, 'STOP'))
  const answeredMs = performance.now() - started
  t.ok(answer.status === 200 || answer.status === 503, `answered ${answer.status}`)
  t.ok(answeredMs < 2000, `the event was answered in ${Math.round(answeredMs)} ms`)

  await released
  probing = false
  await prober
  t.ok(latencies.length > 100, `${latencies.length} probes while the lock was held`)
  // A SQLite busy wait on the event loop froze /health for seconds. Measured from another
  // process on two shared cores (other test files run beside this one), a probe can still be
  // late by a scheduling slice: 99 % must answer within 100 ms, and every one within 500 ms.
  const sorted = [...latencies].sort((a, b) => a - b)
  const p99 = sorted[Math.ceil(sorted.length * 0.99) - 1]!
  const slowest = sorted.at(-1)!
  t.ok(p99 < 100, `99 % of /health probes answered within ${Math.round(p99)} ms`)
  t.ok(slowest < 500, `every /health probe answered, the slowest in ${Math.round(slowest)} ms`)

  // GatewayAPI retries a refused event: once the lock is gone, it is taken.
  const retried = await gateway.postWebhook(gateway.replyEvent(4520000001, 'STOP'))
  t.equal(retried.status, 200, 'the retried event is recorded once the lock is gone')
})
