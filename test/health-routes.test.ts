import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { healthRoutes } from '../src/health-routes.js'
import { Readiness } from '../src/readiness.js'
import { openMemoryStore } from './fakes/memory-store.js'

// /health and /ready on their own, through Fastify's inject: what each says, and what decides /ready.

async function app (t: Test, options: { storeFails?: boolean } = {}) {
  const memory = openMemoryStore()
  const store = { ...memory, ping: () => options.storeFails === true ? Promise.reject(new Error('SQLITE_IOERR')) : memory.ping() }
  const readiness = new Readiness(['tenant-a', 'tenant-b'])
  const server = Fastify({ logger: false })
  await server.register(healthRoutes, { store, readiness })
  t.teardown(async () => { await server.close(); await memory.close() })
  return { server, readiness }
}

t.test('/health: 200 with the sending status and the registrations Optimove holds back, times in ISO-8601', async (t) => {
  const { server, readiness } = await app(t)
  t.same((await server.inject('/health')).json(), { status: 'ok', sending: 'ok', optimove: [] })

  readiness.sending = { state: 'halted', reason: 'provider refused our credentials (HTTP 401): bad token', since: 0, nextProbeAt: Date.UTC(2026, 0, 1) }
  readiness.optimovePauses = () => [
    { outbox: 'reports', registration: 'tenant-a', state: 'paused', until: Date.UTC(2026, 0, 2), reason: 'HTTP 429' },
    { outbox: 'incoming', registration: 'tenant-b', state: 'probing' }
  ]
  const health = await server.inject('/health')
  t.equal(health.statusCode, 200, 'a halt never fails the liveness probe')
  t.same(health.json(), {
    status: 'ok',
    sending: 'halted: provider refused our credentials (HTTP 401): bad token; next try at 2026-01-01T00:00:00.000Z',
    optimove: [
      { outbox: 'reports', registration: 'tenant-a', state: 'paused', until: '2026-01-02T00:00:00.000Z', reason: 'HTTP 429' },
      { outbox: 'incoming', registration: 'tenant-b', state: 'probing' }
    ]
  })
})

t.test('/ready: 200 while the store answers, whatever the handshakes and sending say; each listed', async (t) => {
  const { server, readiness } = await app(t)
  readiness.setHandshake('tenant-a', 'registered')
  readiness.setHandshake('tenant-b', 'failed')
  readiness.sending = { state: 'paused', cause: 'no-credit', until: Date.UTC(2026, 0, 1) }
  const ready = await server.inject('/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), {
    ready: true,
    store: 'ok',
    sending: 'paused until 2026-01-01T00:00:00.000Z: the GatewayAPI account has no credit left',
    registrations: { 'tenant-a': 'registered', 'tenant-b': 'failed' }
  })
})

t.test('/ready: 503 when the store does not answer', async (t) => {
  const { server } = await app(t, { storeFails: true })
  const ready = await server.inject('/ready')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, store: 'unavailable', registrations: { 'tenant-a': 'pending', 'tenant-b': 'pending' } })
})
