import t from 'tap'
import type { Test } from 'tap'
import { request } from 'undici'
import { adminUrlOf, childStack, type ServiceProcess } from '../helper.js'

async function setup (t: Test) {
  const { optimove: sim, url, spawn: start } = await childStack(t)
  return { sim, url, start }
}

t.test('listens first, then registers; /ready is 200 from the start, since it means "can take webhooks"', async (t) => {
  const { sim, url, start } = await setup(t)
  let readyDuringHandshake: number | undefined
  let healthDuringHandshake: number | undefined
  let service: ServiceProcess | undefined
  sim.script('handshake', {
    status: 200,
    body: { message: 'Handshake completed successfully', processedAt: new Date().toISOString() },
    before: async () => {
      healthDuringHandshake = (await request(`${url}/health`).then(async (r) => { await r.body.dump(); return r.statusCode }))
      // The admin listener is up before the handshake starts: its line is already logged.
      readyDuringHandshake = (await request(`${await adminUrlOf(service!)}/ready`).then(async (r) => { await r.body.dump(); return r.statusCode }))
    }
  })
  service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  const adminUrl = await adminUrlOf(service)
  t.equal(healthDuringHandshake, 200, 'the webhook was already listening when Optimove got the handshake')
  t.equal(readyDuringHandshake, 200, 'ready while the handshake is under way: Optimove may call the campaign URL as soon as it is registered')
  const [call] = sim.received('handshake')
  t.equal((call!.body as { campaignSendUrl: string }).campaignSendUrl, `${url}/api/v1/campaigns/send`)
  const ready = await request(`${adminUrl}/ready`)
  t.equal(ready.statusCode, 200)
  t.same(await ready.body.json(), { ready: true, store: 'ok', sending: 'ok', registrations: { default: 'registered' } })
  service.child.kill('SIGTERM')
  t.same(await service.exited, { code: 0, signal: null }, 'SIGTERM is a clean exit')
})

t.test('500 then 200 at startup: retried, then ready', async (t) => {
  const { sim, start } = await setup(t)
  sim.script('handshake', { status: 500, body: { message: 'Internal error', error: 'db' } })
  const service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  const adminUrl = await adminUrlOf(service)
  t.same(sim.received('handshake').map((c) => c.status), [500, 200])
  t.ok(service.logs.some((l) => l.msg === 'handshake failed, retrying' && l.attempt === 1), 'the retry is logged')
  t.equal((await request(`${adminUrl}/ready`)).statusCode, 200)
})

t.test('409 at startup: already registered is ready', async (t) => {
  const { sim, start } = await setup(t)
  sim.script('handshake', { status: 409, body: { title: 'Duplicate Handshake', message: 'exists', code: 40901, traceId: 't' } })
  const service = start()
  await service.waitForLog((l) => l.msg === 'ready')
  t.same(sim.received('handshake').map((c) => c.status), [409])
})

t.test('400 at startup: the process keeps serving, logs Optimove\'s reason, and keeps trying until the handshake succeeds', async (t) => {
  // Background rounds 1.5 s apart, so that the failed state can be seen between them.
  const { optimove: sim, url, spawn: start } = await childStack(t, { HANDSHAKE_MAX_DELAY_MS: '1500' })
  sim.script('handshake', ...Array.from({ length: 2 }, () => ({ status: 400, body: { message: 'API token, appId, or tenantId is missing.' } })))
  const service = start()
  const failed = await service.waitForLog((l) => l.msg === 'startup handshake failed; retrying in the background')
  t.match(failed.reason, /rejected by Optimove \(400\): API token, appId, or tenantId is missing\./)
  await service.waitForLog((l) => l.msg === 'ready')
  const adminUrl = await adminUrlOf(service)
  t.equal((await request(`${url}/health`)).statusCode, 200, 'still serving')
  const ready = await request(`${adminUrl}/ready`)
  t.equal(ready.statusCode, 200, 'webhooks are taken: reports and replies of earlier campaigns still flow')
  t.match(await ready.body.json(), { registrations: { default: 'failed' } })

  // The tenant fixes its side: a later background attempt registers.
  await service.waitForLog((l) => l.msg === 'handshake completed after retrying in the background')
  t.same(sim.received('handshake').map((c) => c.status), [400, 400, 200])
  t.match(await (await request(`${adminUrl}/ready`)).body.json(), { registrations: { default: 'registered' } })
  t.equal(service.child.exitCode, null, 'it never exited')
  service.child.kill('SIGTERM')
  t.same(await service.exited, { code: 0, signal: null })
})
