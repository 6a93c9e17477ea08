import t from 'tap'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { signHubSignature } from '../../src/lib/hmac-signature.js'
import { freePort, spawnService, testEnv } from '../helper.js'

/** Peak resident memory of a process so far (Linux), in MB. */
const peakRssMb = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

t.test('a campaign with 60 KiB of metadata and 10,000 unusable numbers: 10,000 reports delivered, peak RSS under 400 MB', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const metadata = JSON.stringify({ campaignId: 'big-metadata', scheduledTime: null, notes: 'n'.repeat(60 * 1024) })
  // An Optimove that keeps only what the test checks, so that the test's own memory stays small.
  const reported = new Set<string>()
  let metadataIntact = 0
  let reportsSeen = 0
  const optimove = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      if (req.url!.endsWith('/delivery-report')) {
        reportsSeen++
        reported.add((JSON.parse(text) as { messageId: string }).messageId)
        if (text.includes(`"metadata":${metadata},`)) metadataIntact++
        optimove.emit('report')
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  optimove.listen(0, '127.0.0.1')
  await once(optimove, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { optimove.closeAllConnections(); optimove.close(() => resolve()) }))

  const port = await freePort()
  const env = testEnv({
    LOG_LEVEL: 'info',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    OPTIMOVE_BASE_URL: `http://127.0.0.1:${(optimove.address() as AddressInfo).port}`,
    GATEWAYAPI_BASE_URL: 'http://127.0.0.1:1',
    DATABASE_URL: `sqlite:${t.testdir()}/bridge.db`
  })
  const service = spawnService(env)
  t.teardown(async () => {
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL')
    await service.exited
  })
  await service.waitForLog((l) => l.msg === 'ready')

  const recipients = Array.from({ length: 10_000 }, (_, i) => ({ message: `Hello ${i}`, mobileNumber: `not-a-number-${i}`, customerId: `c${i}` }))
  const raw = `{"batchId":"b-1","requestId":"r-1","senderId":"Brand","metadata":${metadata},"recipients":${JSON.stringify(recipients)}}`
  const res = await request(`http://127.0.0.1:${port}${CAMPAIGN_SEND_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': env.AGGREGATOR_API_KEY!, 'x-hub-signature': signHubSignature(raw, env.OPTIMOVE_SHARED_SECRET!) },
    body: raw
  })
  t.match(await res.body.json(), { accepted: 0, rejected: 10_000 })

  while (reported.size < 10_000) await once(optimove, 'report')
  const peak = peakRssMb(service.child.pid!)
  t.equal(reported.size, 10_000, 'every message got its report')
  t.equal(reportsSeen, 10_000, 'each exactly once')
  t.equal(metadataIntact, 10_000, 'each with the campaign\'s metadata byte for byte')
  t.ok(peak < 400, `peak RSS of the service ${Math.round(peak)} MB`)
})
