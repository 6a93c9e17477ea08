import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { Store } from './core/store/store.js'
import { systemClock, type Clock } from './lib/clock.js'
import { sendError } from './errors.js'
import { routeErrorHandler } from './http/route-error-handler.js'
import { clientErrorHandler } from './http/client-error.js'
import { campaignRoute } from './optimove/campaign-route.js'
import { healthRoutes } from './health-routes.js'
import { Readiness } from './readiness.js'
import { eventsRoute } from './gatewayapi/events-route.js'
import { gatewayApiRules } from './gatewayapi/provider-rules.js'
import type { ProviderRules } from './core/provider-rules.js'
import { createMetrics, type Metrics } from './metrics.js'
import { probeLogLevel } from './logger.js'
import { requestIdOf } from './http/request-id.js'
import { openApiDocument } from './openapi.js'
import { adminApi } from './http/admin-api.js'
import { gatewayApiAccounts, webhookSecrets } from './gatewayapi/accounts.js'
import { SERVICE_VERSION } from './service-version.js'

export interface AppDeps {
  store: Store
  logger: Logger
  readiness?: Readiness
  clock?: Clock
  metrics?: Metrics
  /** The provider's rules asked at intake (default GatewayAPI's). */
  rules?: ProviderRules
}

/**
 * Builds the public HTTP app: the two webhooks (Optimove's campaigns, GatewayAPI's events) and a
 * bare `/health` for a load balancer; nothing global, nothing listening yet. Operators'
 * endpoints are on the admin app (`buildAdminApp`), on a listener of their own.
 */
export function buildApp (config: Config, deps: AppDeps): FastifyInstance {
  const clock = deps.clock ?? systemClock
  const metrics = deps.metrics ?? createMetrics()
  const app = createServer(config, deps.logger, metrics, { trustProxy: config.http.trustProxy })
  app.get('/health', { logLevel: probeLogLevel(deps.logger.level as Config['logLevel']) }, async () => ({ status: 'ok' }))
  app.register(eventsRoute, {
    // Every account's secret: the registrations' own and the environment's.
    secrets: webhookSecrets(gatewayApiAccounts(config.registrations, config.gatewayapi)),
    maxAgeMs: config.webhookMaxAgeMs,
    store: deps.store,
    clock,
    metrics,
    registrations: config.registrations,
    optOut: config.optOut,
    bodyLimit: config.http.webhookBodyLimitBytes
  })
  app.register(campaignRoute, {
    registrations: config.registrations,
    store: deps.store,
    clock,
    bodyLimit: config.campaignBodyLimitBytes,
    metadataLimit: config.metadataLimitBytes,
    metrics,
    rules: deps.rules ?? gatewayApiRules
  })
  return app
}

/**
 * Builds the admin HTTP app, for operators and their tools (ADMIN_HOST, ADMIN_PORT): `/metrics`,
 * `/ready`, `/health` with the sending status and Optimove's pauses, the webhooks' OpenAPI
 * document (`/docs/openapi.json`), and the operator's commands (`/admin/v1/…`, with ADMIN_TOKEN); `metrics` and
 * `readiness` are the public app's, so that both tell one story.
 */
export function buildAdminApp (config: Config, deps: Pick<AppDeps, 'store' | 'logger' | 'readiness' | 'metrics' | 'clock'> & { metrics: Metrics }): FastifyInstance {
  const readiness = deps.readiness ?? new Readiness(config.registrations.map((r) => r.id))
  // Its lines say which listener they are from ("Server listening at …" among them).
  // Its request lines leave out the query string: an operator's lookup may carry a phone number.
  const app = createServer(config, deps.logger.child({ listener: 'admin' }, { serializers: { req: requestWithoutQuery } }), deps.metrics, {})
  // Probes, asked every few seconds, log their requests at debug only.
  const probes = probeLogLevel(deps.logger.level as Config['logLevel'])
  app.get('/metrics', { logLevel: probes }, async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.exposition()))
  app.register(healthRoutes, { store: deps.store, readiness, logLevel: probes })
  app.register(adminApi, { store: deps.store, token: config.admin.token, clock: deps.clock ?? systemClock })
  // The webhooks' contract, generated from the schemas they read and answer with.
  const contract = openApiDocument(SERVICE_VERSION)
  app.get('/docs/openapi.json', async () => contract)
  return app
}

/** A request as Fastify's log lines show it, its query string left out. */
function requestWithoutQuery (request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: request.url.split('?', 1)[0], host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
}

/**
 * A Fastify server with what both listeners share: deadlines on slow callers, a cap on open
 * connections, request ids (a caller's X-Request-Id, returned), request durations per route, and
 * JSON errors for unknown routes and everything no route handles.
 */
function createServer (config: Config, logger: Logger, metrics: Metrics, options: { trustProxy?: Config['http']['trustProxy'] }): FastifyInstance {
  const { requestTimeoutMs, headersTimeoutMs, maxConnections } = config.http
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Bounds on how long one caller may hold a connection before its request is complete.
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Node checks those deadlines every 30 s by default, far too coarse for a 10 s one.
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs)
    },
    clientErrorHandler: clientErrorHandler({ requestTimeoutMs, headersTimeoutMs }),
    return503OnClosing: true,
    // A caller's X-Request-Id names the request in our logs and comes back in the answer.
    requestIdHeader: false,
    genReqId: requestIdOf,
    ...(options.trustProxy === undefined ? {} : { trustProxy: trustedProxies(options.trustProxy) })
  })
  app.addHook('onSend', async (request, reply) => { reply.header('x-request-id', request.id) })
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })
  // Beyond this many open connections Node drops new ones at once, so a flood cannot exhaust memory.
  app.server.maxConnections = maxConnections

  // Each route plugin has its own error handler naming its own limits; this one serves the rest.
  app.setErrorHandler(routeErrorHandler({ bodyLimit: app.initialConfig.bodyLimit ?? 1024 * 1024 }))
  app.setNotFoundHandler((request, reply) => sendError(reply, 'notFound', `no route for ${request.method} ${request.url}`))
  return app
}

/** TRUST_PROXY as Fastify takes it: a number of proxies is the hops in front of us that are trusted. */
function trustedProxies (trust: Config['http']['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust
}
