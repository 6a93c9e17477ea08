import type { FastifyInstance } from 'fastify'
import { describeSending } from './core/sending-status.js'
import type { MaintenanceStore } from './core/store/store.js'
import type { Readiness } from './readiness.js'
import type { Config } from './config.js'

export interface HealthRouteOptions {
  store: MaintenanceStore
  readiness: Readiness
  /** The level of these probes' request lines (see probeLogLevel); default the app's. */
  logLevel?: Config['logLevel']
}

/**
 * `/health`: 200 while the process answers, with whether sending is halted or paused, and which
 * registrations' reports Optimove holds back (for operators; it never fails a liveness probe:
 * a restart fixes neither a token nor a balance).
 * `/ready`: 200 while we can take webhooks (the store answers); the body lists the sending
 * status and each registration's handshake, which no longer decide it.
 */
export async function healthRoutes (app: FastifyInstance, { store, readiness, logLevel }: HealthRouteOptions): Promise<void> {
  const route = logLevel === undefined ? {} : { logLevel }
  app.get('/health', route, async () => ({
    status: 'ok',
    sending: describeSending(readiness.sending),
    optimove: readiness.optimovePauses().map((p) => ({ ...p, ...(p.until === undefined ? {} : { until: new Date(p.until).toISOString() }) }))
  }))

  app.get('/ready', route, async (request, reply) => {
    let storeOk = true
    try {
      await store.ping()
    } catch (err) {
      storeOk = false
      request.log.error({ err }, 'store ping failed')
    }
    // Ready means "can take webhooks": the process answers and the store does. A halted or
    // paused dispatcher, or a handshake under way or failed, must not take the webhooks away:
    // campaigns would be refused and status events pile up at GatewayAPI, while the store would
    // keep them safe and deliver them the moment sending works again.
    const ready = storeOk
    return reply.code(ready ? 200 : 503).send({
      ready,
      store: storeOk ? 'ok' : 'unavailable',
      sending: describeSending(readiness.sending),
      registrations: Object.fromEntries(readiness.handshakes)
    })
  })
}
