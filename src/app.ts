import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify'
import type { Logger } from 'pino'
import { CAMPAIGN_SEND_PATH, type Config } from './config.js'
import type { Store } from './core/store/store.js'
import { systemClock, type Clock } from './lib/clock.js'
import { ERROR_CODES, sendError } from './errors.js'
import { campaignRoute } from './optimove/campaign-route.js'
import { healthRoutes } from './health-routes.js'
import { Readiness } from './readiness.js'
import { eventsRoute } from './gatewayapi/events-route.js'
import { createMetrics, type Metrics } from './metrics.js'

export interface AppDeps {
  store: Store
  logger: Logger
  readiness?: Readiness
  clock?: Clock
  /** Told after each newly stored campaign (the dispatcher's wake-up). */
  onCampaignAccepted?: () => void
  /** Told after each newly recorded webhook event (the report senders' wake-up). */
  onEventRecorded?: () => void
  metrics?: Metrics
}

/** Builds the HTTP app: routes and plugins, nothing global, nothing listening yet. */
export function buildApp (config: Config, deps: AppDeps): FastifyInstance {
  const readiness = deps.readiness ?? new Readiness(config.registrations.map((r) => r.id))
  const clock = deps.clock ?? systemClock
  const metrics = deps.metrics ?? createMetrics()
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Batches of tens of thousands of recipients take a while to upload.
    requestTimeout: 120_000,
    return503OnClosing: true
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && request.url.startsWith(CAMPAIGN_SEND_PATH)) metrics.campaignRefusals.inc({ reason: 'too-large' })
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 'payloadTooLarge', `the body is larger than the limit of ${config.campaignBodyLimitBytes} bytes`)
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 'unsupportedMediaType', 'the body must be application/json')
    if (status >= 400 && status < 500) return reply.code(status).send({ message: error.message, code: error.code ?? ERROR_CODES.badRequest.code })
    request.log.error({ err: error }, 'request failed')
    return sendError(reply, 'internal', 'internal error')
  })
  app.setNotFoundHandler((request, reply) => sendError(reply, 'notFound', `no route for ${request.method} ${request.url}`))

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
  app.register(eventsRoute, {
    secret: config.gatewayapi.webhookSecret,
    maxAgeMs: config.webhookMaxAgeMs,
    store: deps.store,
    clock,
    metrics,
    registrations: config.registrations,
    ...(deps.onEventRecorded ? { onRecorded: deps.onEventRecorded } : {})
  })
  app.register(healthRoutes, { store: deps.store, readiness })
  app.register(campaignRoute, {
    registrations: config.registrations,
    store: deps.store,
    clock,
    bodyLimit: config.campaignBodyLimitBytes,
    metrics,
    ...(deps.onCampaignAccepted ? { onAccepted: deps.onCampaignAccepted } : {})
  })
  return app
}
