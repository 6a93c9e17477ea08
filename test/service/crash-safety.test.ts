import t from 'tap'
import { SimOptimove } from '../../src/sim/optimove.js'
import { campaignBody, freePort, inspectStoreAt, spawnService, testEnv } from '../helper.js'

t.test('SIGKILL right after the 200 loses nothing of the batch', async (t) => {
  const env = testEnv()
  const sim = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  t.teardown(() => sim.close())
  const port = await freePort()
  const dbPath = `${t.testdir()}/bridge.db`
  const serviceEnv = testEnv({ LOG_LEVEL: 'info', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, OPTIMOVE_BASE_URL: sim.baseUrl, DATABASE_URL: `sqlite:${dbPath}` })

  const first = spawnService(serviceEnv)
  t.teardown(() => { if (first.child.exitCode === null) first.child.kill('SIGKILL') })
  await first.waitForLog((l) => l.msg === 'ready')

  const body = campaignBody({ recipients: 10_000, requestId: 'crash-request' })
  const accepted = await sim.sendCampaign(body)
  first.child.kill('SIGKILL')
  t.equal(accepted.status, 200)
  t.equal(accepted.body.accepted, 10_000)
  t.same(await first.exited, { code: null, signal: 'SIGKILL' })

  // What is on disk after the kill, read as an operator would.
  const afterKill = await inspectStoreAt(dbPath)
  t.equal(afterKill.messages.length, 10_000, 'every message of the batch survived the kill')
  t.same(afterKill.messages.map((m) => m.customerId), (body.recipients as Array<{ customerId: string }>).map((r) => r.customerId))

  // The restarted service sees the batch: Optimove's retry of it is a duplicate.
  const second = spawnService(serviceEnv)
  t.teardown(async () => {
    if (second.child.exitCode === null) second.child.kill('SIGKILL')
    await second.exited
  })
  await second.waitForLog((l) => l.msg === 'ready')
  const retried = await sim.sendCampaign(body)
  t.equal(retried.status, 200)
  t.equal(retried.body.duplicate, true)
  t.equal(retried.body.accepted, 10_000)
  t.equal((await inspectStoreAt(dbPath)).messages.length, 10_000)
})
