import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import { systemClock, type Clock } from './lib/clock.js'
import { Dispatcher } from './core/dispatcher.js'
import type { MessageSender } from './core/message-sender.js'
import { openStore } from './core/store/open-store.js'
import type { Store } from './core/store/store.js'
import { createGatewayApiClient } from './gatewayapi/send-client.js'
import { registerUntilDone, type HandshakeFailure } from './optimove/registration-loop.js'
import { Readiness } from './readiness.js'
import { OutboxWorker } from './core/outbox-worker.js'
import { Pruner } from './core/pruner.js'
import { FinalStatusSweeper } from './core/final-status-sweeper.js'
import type { PendingIncoming, PendingReport } from './core/store/store.js'
import { createOptimoveOutboxClient } from './optimove/outbox-client.js'
import { createMetrics, type Metrics } from './metrics.js'
import { observeService } from './service-metrics.js'

export interface Service {
  app: FastifyInstance
  store: Store
  readiness: Readiness
  dispatcher: Dispatcher
  reports: OutboxWorker<PendingReport>
  replies: OutboxWorker<PendingIncoming>
  pruner: Pruner
  sweeper: FinalStatusSweeper
  metrics: Metrics
  /** The address the HTTP server listens on. */
  url: string
  /**
   * Settles when every registration's first round of handshake attempts has ended: registered,
   * or failed (rejected by Optimove, or its attempts used up). Failures come back with their
   * reasons; it never rejects. A failed registration keeps trying in the background, every
   * HANDSHAKE_MAX_DELAY_MS, until it registers or the service stops.
   */
  handshakes: Promise<HandshakeFailure[]>
  /** Stops intake, lets requests in flight finish (HTTP and GatewayAPI), then closes the store. Idempotent. */
  stop(): Promise<void>
}

export type { HandshakeFailure }

export interface ServiceDeps {
  logger: Logger
  clock?: Clock
  store?: Store
  sender?: MessageSender
  random?: () => number
}

/**
 * The startup sequence: store (with migrations) → app → listen → handshakes, and the
 * dispatcher. We listen before the handshake because Optimove may call the campaign URL as
 * soon as we register it; the dispatcher does not wait for the handshake, so messages
 * accepted before a restart go out even while Optimove is unreachable.
 */
export async function startService (config: Config, deps: ServiceDeps): Promise<Service> {
  const clock = deps.clock ?? systemClock
  const store = deps.store ?? await openStore(config.databaseUrl, {
    recipientIndex: config.registrations.length > 1,
    threaded: config.storeThread,
    busyTimeoutMs: config.storeBusyTimeoutMs
  })
  const readiness = new Readiness(config.registrations.map((r) => r.id))
  const sender = deps.sender ?? createGatewayApiClient({
    baseUrl: config.gatewayapi.baseUrl,
    token: config.gatewayapi.token,
    connections: config.send.concurrency,
    connectTimeoutMs: config.send.connectTimeoutMs,
    requestTimeoutMs: config.send.requestTimeoutMs,
    clock
  })
  const dispatcher = new Dispatcher({
    store,
    sender,
    clock,
    logger: deps.logger.child({ component: 'dispatcher' }),
    ...config.send,
    backoff: { baseMs: config.send.retryBaseMs, capMs: config.send.retryMaxMs },
    ...(deps.random ? { random: deps.random } : {}),
    // Each message carries its registration's expiration, and its registration as GatewayAPI's label.
    registrations: config.registrations,
    // Halts and pauses show in /health (and /ready's body); they no longer make /ready fail.
    onSendingChange: (sending) => { readiness.sending = sending }
  })
  const metrics = createMetrics()
  const optimove = createOptimoveOutboxClient(config.registrations, { connections: config.outbox.concurrency, timeoutMs: config.outbox.timeoutMs })
  const outboxCommon = {
    store,
    clock,
    concurrency: config.outbox.concurrency,
    leaseMs: config.outbox.leaseMs,
    backoff: { baseMs: config.outbox.retryBaseMs, capMs: config.outbox.retryMaxMs },
    idlePollMs: config.outbox.idlePollMs,
    claimLimitBytes: config.outbox.claimLimitBytes,
    pauseProbeMs: config.outbox.authProbeMs,
    maxPauseMs: config.send.maxRetryAfterMs,
    ...(deps.random ? { random: deps.random } : {})
  }
  const reports = new OutboxWorker<PendingReport>({
    ...outboxCommon,
    outbox: 'reports',
    logger: deps.logger.child({ component: 'delivery-reports' }),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimReports(now, limit, leaseMs, maxBytes, excluded),
    deliver: optimove.deliverReports,
    perRequest: 1,
    claimSize: 8 * config.outbox.concurrency
  })
  const replies = new OutboxWorker<PendingIncoming>({
    ...outboxCommon,
    outbox: 'incoming',
    logger: deps.logger.child({ component: 'incoming-messages' }),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimIncoming(now, limit, leaseMs, maxBytes, excluded),
    deliver: optimove.deliverIncoming,
    perRequest: 100,
    claimSize: 500
  })
  const pruner = new Pruner({ store, clock, logger: deps.logger.child({ component: 'pruner' }), ...config.prune })
  const sweeper = new FinalStatusSweeper({
    store,
    clock,
    logger: deps.logger.child({ component: 'final-status-sweep' }),
    expirations: config.registrations.map((r) => ({ registrationId: r.id, expirationMs: r.expirationMs })),
    graceMs: config.finalStatus.graceMs,
    intervalMs: config.finalStatus.sweepIntervalMs,
    // Messages the sweep ends have reports waiting.
    onEnded: () => reports.wake()
  })
  // Only settlements that can end messages have reports waiting.
  dispatcher.on('settled', (kind) => { if (kind === 'invalid' || kind === 'refused' || kind === 'rejected' || kind === 'too-large' || kind === 'transient' || kind === 'expired') reports.wake() })
  readiness.optimovePauses = () => [
    ...reports.pausedRegistrations().map((p) => ({ outbox: 'reports', ...p })),
    ...replies.pausedRegistrations().map((p) => ({ outbox: 'incoming', ...p }))
  ]
  observeService(metrics, { store, readiness, dispatcher, reports, replies })
  const app = buildApp(config, {
    store,
    logger: deps.logger,
    readiness,
    clock,
    metrics,
    onCampaignAccepted: () => {
      dispatcher.wake()
      reports.wake()
    },
    onEventRecorded: () => {
      reports.wake()
      replies.wake()
    }
  })
  const shutdown = new AbortController()
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shutdown.abort(new Error('service stopping'))
      await app.close()
      await Promise.all([dispatcher.stop(), reports.stop(), replies.stop(), pruner.stop(), sweeper.stop()])
      await Promise.all([sender.close(), optimove.close()])
      await store.close()
    })()
    return stopping
  }

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    await Promise.all([sender.close(), optimove.close()])
    await store.close()
    throw err
  }
  const address = app.server.address()
  const url = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
  dispatcher.start()
  reports.start()
  replies.start()
  pruner.start()
  sweeper.start()

  // One registration failing does not hold up the others, and a failed one keeps trying.
  const handshakes = Promise.all(config.registrations.map((registration) => registerUntilDone(registration, {
    handshake: { ...config.handshake, campaignSendUrl: config.campaignSendUrl, timeoutMs: config.outbox.timeoutMs, logger: deps.logger, signal: shutdown.signal },
    readiness
  }))).then((results) => results.filter((r): r is HandshakeFailure => r !== undefined))

  return { app, store, readiness, dispatcher, reports, replies, pruner, sweeper, metrics, url, handshakes, stop }
}
