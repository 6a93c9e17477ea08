import t from 'tap'
import type { Test } from 'tap'
import { request } from 'undici'
import { SimOptimove } from '../../src/sim/optimove.js'
import { freePort, spawnService, testEnv } from '../helper.js'

async function setup (t: Test) {
  const env = testEnv()
  const sim = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  t.teardown(() => sim.close())
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dbDir = t.testdir()
  const serviceEnv = testEnv({ LOG_LEVEL: 'info', PORT: String(port), PUBLIC_URL: url, OPTIMOVE_BASE_URL: sim.baseUrl, DATABASE_URL: `sqlite:${dbDir}/bridge.db` })
  const start = () => {
    const service = spawnService(serviceEnv)
    t.teardown(async () => {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL')
      await service.exited
    })
    return service
  }
  return { sim, url, start, dbDir }
}

t.test('listens first, then registers; /ready turns true once the handshake is done', async (t) => {
  const { sim, url, start } = await setup(t)
  let readyDuringHandshake: number | undefined
  let healthDuringHandshake: number | undefined
  sim.script('handshake', {
    status: 200,
    body: { message: 'Handshake completed successfully', processedAt: new Date().toISOString() },
    before: async () => {
      healthDuringHandshake = (await request(`${url}/health`).then(async (r) => { await r.body.dump(); return r.statusCode }))
      readyDuringHandshake = (await request(`${url}/ready`).then(async (r) => { await r.body.dump(); return r.statusCode }))
    }
  })
  const service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  t.equal(healthDuringHandshake, 200, 'the webhook was already listening when Optimove got the handshake')
  t.equal(readyDuringHandshake, 503, 'not ready before the handshake completed')
  const [call] = sim.received('handshake')
  t.equal((call!.body as { campaignSendUrl: string }).campaignSendUrl, `${url}/api/v1/campaigns/send`)
  const ready = await request(`${url}/ready`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { ready: true, store: 'ok', sending: 'ok', registrations: { default: 'registered' } })
  service.child.kill('SIGTERM')
  t.same(await service.exited, { code: 0, signal: null }, 'SIGTERM is a clean exit')
})

t.test('500 then 200 at startup: retried, then ready', async (t) => {
  const { sim, url, start } = await setup(t)
  sim.script('handshake', { status: 500, body: { message: 'Internal error', error: 'db' } })
  const service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  t.same(sim.received('handshake').map((c) => c.status), [500, 200])
  t.ok(service.logs.some((l) => l.msg === 'handshake failed, retrying' && l.attempt === 1), 'the retry is logged')
  t.equal((await request(`${url}/ready`)).statusCode, 200)
})

t.test('409 at startup: already registered is ready', async (t) => {
  const { sim, start } = await setup(t)
  sim.script('handshake', { status: 409, body: { title: 'Duplicate Handshake', message: 'exists', code: 40901, traceId: 't' } })
  const service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  t.same(sim.received('handshake').map((c) => c.status), [409])
})

t.test('400 at startup: the process exits non-zero with Optimove\'s message', async (t) => {
  const { sim, start } = await setup(t)
  sim.script('handshake', { status: 400, body: { message: 'API token, appId, or tenantId is missing.' } })
  const service = start()
  const { code } = await service.exited
  t.not(code, 0)
  const fatal = service.logs.find((l) => l.level === 60)
  t.match(fatal?.reason, /rejected by Optimove \(400\): API token, appId, or tenantId is missing\./)
})
