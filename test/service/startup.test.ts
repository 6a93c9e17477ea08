import t from 'tap'
import type { Test } from 'tap'
import { request } from 'undici'
import { childStack } from '../helper.js'

async function setup (t: Test) {
  const { optimove: sim, url, spawn: start } = await childStack(t)
  return { sim, url, start }
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
