import type { FastifyInstance } from 'fastify'
import type { Store } from './core/store/store.js'
import type { Readiness } from './readiness.js'

export interface HealthRouteOptions {
  store: Store
  readiness: Readiness
}

/** `/health`: the process answers. `/ready`: the store answers, every handshake is done and sending is not halted. */
export async function healthRoutes (app: FastifyInstance, { store, readiness }: HealthRouteOptions): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }))

  app.get('/ready', async (request, reply) => {
    let storeOk = true
    try {
      await store.ping()
    } catch (err) {
      storeOk = false
      request.log.error({ err }, 'store ping failed')
    }
    const ready = storeOk && readiness.isReady()
    return reply.code(ready ? 200 : 503).send({
      ready,
      store: storeOk ? 'ok' : 'unavailable',
      sending: readiness.sendingHalted === undefined ? 'ok' : `halted: ${readiness.sendingHalted}`,
      registrations: Object.fromEntries(readiness.handshakes)
    })
  })
}
