import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildAdminApp, buildApp } from './app.js'
import type { Config } from './config.js'
import { systemClock, type Clock } from './lib/clock.js'
import { Dispatcher } from './core/dispatcher.js'
import { Dispatchers } from './core/dispatchers.js'
import type { MessageSender } from './core/message-sender.js'
import { openStore } from './core/store/open-store.js'
import type { Store } from './core/store/store.js'
import { DEFAULT_ACCOUNT, createAccountSenders, gatewayApiAccounts } from './gatewayapi/accounts.js'
import { registerUntilDone, type HandshakeFailure } from './optimove/registration-loop.js'
import { Readiness } from './readiness.js'
import { OutboxWorker } from './core/outbox-worker.js'
import { Pruner } from './core/pruner.js'
import { FinalStatusSweeper } from './core/final-status-sweeper.js'
import type { PendingIncoming, PendingReport } from './core/store/store.js'
import { createOptimoveOutboxClient } from './optimove/outbox-client.js'
import { createMetrics, type Metrics } from './metrics.js'
import { observeService } from './service-metrics.js'
import { Lifecycle } from './lifecycle.js'
import { WorkNotifier } from './core/work-notifier.js'
import { announcingStore } from './core/store/announcing-store.js'
import { InstanceHeartbeat } from './core/instance-heartbeat.js'
import { shareWork } from './core/shared-work.js'
import { jobLease } from './core/job-lease.js'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'

export interface Service {
  /** The public listener: the webhooks and a bare `/health`. */
  app: FastifyInstance
  /** The admin listener: `/metrics`, `/ready`, `/health` with details. */
  adminApp: FastifyInstance
  store: Store
  readiness: Readiness
  /** The dispatchers of the GatewayAPI accounts, as one. */
  dispatcher: Dispatchers
  reports: OutboxWorker<PendingReport>
  replies: OutboxWorker<PendingIncoming>
  pruner: Pruner
  sweeper: FinalStatusSweeper
  /** This process among the replicas on its database: its heartbeat, and its takeover of dead replicas' claims. */
  heartbeat: InstanceHeartbeat
  metrics: Metrics
  /** What the store's commits made due; the loops listen to it. */
  work: WorkNotifier
  /** Starts the loops, listens, then runs the handshakes; resolves once listening. */
  start(): Promise<StartedService>
  /**
   * Stops in the reverse order of starting: handshakes, intake (requests in flight finish),
   * the loops (their requests to GatewayAPI and Optimove in flight are settled), the peers'
   * clients, then the store. Idempotent.
   */
  stop(): Promise<void>
}

export interface StartedService extends Service {
  /** The address the public listener listens on. */
  url: string
  /** The address the admin listener listens on. */
  adminUrl: string
  /**
   * Settles when every registration's first round of handshake attempts has ended: registered,
   * or failed (rejected by Optimove, or its attempts used up). Failures come back with their
   * reasons; it never rejects. A failed registration keeps trying in the background, every
   * HANDSHAKE_MAX_DELAY_MS, until it registers or the service stops.
   */
  handshakes: Promise<HandshakeFailure[]>
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
 * Opens the store (with migrations) the configuration names. A PostgreSQL connection that drops
 * while idle is logged (its code and reason, never the URL) and replaced by the pool.
 */
export function openConfiguredStore (config: Config, logger?: Logger): Promise<Store> {
  return openStore(config.databaseUrl, {
    recipientIndex: config.registrations.length > 1,
    threaded: config.storeThread,
    busyTimeoutMs: config.storeBusyTimeoutMs,
    instanceId: config.instance.id ?? defaultInstanceId(),
    poolSize: config.databasePoolSize,
    statementTimeoutMs: config.databaseStatementTimeoutMs,
    onConnectionError: (err) => logger?.warn({ code: (err as { code?: unknown }).code, reason: err.message }, 'a database connection dropped; the pool opens another when needed')
  })
}

/**
 * Builds the service's parts around an open store, with no side effect: nothing listens,
 * nothing runs until `start()`. The loops start before the server listens, and the handshakes
 * run once it does: Optimove may call the campaign URL as soon as we register it, and messages
 * accepted before a restart go out even while Optimove is unreachable.
 */
export function createService (config: Config, deps: ServiceDeps & { store: Store }): Service {
  const clock = deps.clock ?? systemClock
  // Every line names its replica.
  const logger = deps.logger.child({ instance: deps.store.instanceId })
  const work = new WorkNotifier()
  const store = announcingStore(deps.store, work)
  const readiness = new Readiness(config.registrations.map((r) => r.id))
  // One dispatcher per GatewayAPI account (a given sender stands for the one account there is).
  const accounts = deps.sender === undefined
    ? gatewayApiAccounts(config.registrations, config.gatewayapi)
    : [{ name: DEFAULT_ACCOUNT, account: config.gatewayapi, registrations: config.registrations.map((r) => r.id) }]
  const senders = deps.sender === undefined
    ? createAccountSenders(accounts, { connections: config.send.concurrency, connectTimeoutMs: config.send.connectTimeoutMs, requestTimeoutMs: config.send.requestTimeoutMs, clock })
    : { senders: new Map([[DEFAULT_ACCOUNT, deps.sender]]), close: () => deps.sender!.close() }
  // The environment's account also sends for registrations no longer configured: every one but the others'.
  const elsewhere = accounts.filter((a) => a.name !== DEFAULT_ACCOUNT).flatMap((a) => a.registrations)
  const dispatcher: Dispatchers = new Dispatchers(accounts.map((a) => ({
    account: a.name,
    dispatcher: new Dispatcher({
      store,
      sender: senders.senders.get(a.name)!,
      clock,
      logger: logger.child({ component: 'dispatcher', ...(accounts.length > 1 ? { account: a.name } : {}) }),
      ...config.send,
      backoff: { baseMs: config.send.retryBaseMs, capMs: config.send.retryMaxMs },
      ...(deps.random ? { random: deps.random } : {}),
      // Each message carries its registration's expiration, and its registration as GatewayAPI's label.
      registrations: config.registrations,
      serves: a.name === DEFAULT_ACCOUNT ? { except: elsewhere } : { only: a.registrations },
      // Halts and pauses show in /health (and /ready's body); they no longer make /ready fail.
      onSendingChange: () => { readiness.sending = dispatcher.sending() }
    })
  })))
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
    logger: logger.child({ component: 'delivery-reports' }),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimReports(now, limit, leaseMs, maxBytes, excluded),
    deliver: optimove.deliverReports,
    perRequest: 1,
    claimSize: 8 * config.outbox.concurrency
  })
  const replies = new OutboxWorker<PendingIncoming>({
    ...outboxCommon,
    outbox: 'incoming',
    logger: logger.child({ component: 'incoming-messages' }),
    claim: (now, limit, leaseMs, maxBytes, excluded) => store.claimIncoming(now, limit, leaseMs, maxBytes, excluded),
    deliver: optimove.deliverIncoming,
    perRequest: 100,
    claimSize: 500
  })
  // Pruning and the sweep run on one replica at a time; the one holding a job keeps it while it renews.
  const pruner = new Pruner({ store, clock, logger: logger.child({ component: 'pruner' }), ...config.prune, mayRun: jobLease(store, 'prune', clock, 2 * config.prune.intervalMs) })
  const sweeper = new FinalStatusSweeper({
    store,
    clock,
    logger: logger.child({ component: 'final-status-sweep' }),
    expirations: config.registrations.map((r) => ({ registrationId: r.id, expirationMs: r.expirationMs })),
    graceMs: config.finalStatus.graceMs,
    intervalMs: config.finalStatus.sweepIntervalMs,
    mayRun: jobLease(store, 'final-status-sweep', clock, 2 * config.finalStatus.sweepIntervalMs)
  })
  const heartbeat = new InstanceHeartbeat({
    store,
    clock,
    logger: logger.child({ component: 'replicas' }),
    intervalMs: config.instance.heartbeatMs,
    deadAfterMs: config.instance.deadAfterMs,
    // A dead replica's claims are due now: here, and (through shareWork) on the other replicas.
    onTakenOver: () => {
      work.emit('messagesDue')
      work.emit('reportsQueued')
      work.emit('repliesQueued')
    }
  })
  let stopSharing: (() => Promise<void>) | undefined
  work.on('messagesDue', () => dispatcher.wake())
  work.on('reportsQueued', () => reports.wake())
  work.on('repliesQueued', () => replies.wake())
  readiness.optimovePauses = () => [
    ...reports.pausedRegistrations().map((p) => ({ outbox: 'reports', ...p })),
    ...replies.pausedRegistrations().map((p) => ({ outbox: 'incoming', ...p }))
  ]
  observeService(metrics, { store, readiness, dispatcher, reports, replies })
  const app = buildApp(config, {
    store,
    logger,
    readiness,
    clock,
    metrics
  })
  const adminApp = buildAdminApp(config, { store, logger, readiness, metrics, clock })
  const shutdown = new AbortController()
  let handshakes: Promise<HandshakeFailure[]> = Promise.resolve([])
  const loops = [dispatcher, reports, replies, pruner, sweeper]
  const lifecycle = new Lifecycle()
    .add({ name: 'store', stop: () => store.close() })
    // Up first and down last: /ready and /metrics answer for the whole start and drain.
    .add({ name: 'admin http', start: async () => { await adminApp.listen({ host: config.admin.host, port: config.admin.port }) }, stop: () => adminApp.close() })
    .add({ name: 'peer clients', stop: async () => { await Promise.all([senders.close(), optimove.close()]) } })
    // Stopped after the loops: the claims they hand back are back before this instance retires.
    .add({
      name: 'replicas',
      start: async () => {
        heartbeat.start()
        stopSharing = await shareWork(work, store, logger.child({ component: 'replicas' }))
      },
      stop: async () => {
        await stopSharing?.()
        await heartbeat.stop()
      }
    })
    .add({ name: 'loops', start: () => { for (const loop of loops) loop.start() }, stop: async () => { await Promise.all(loops.map((loop) => loop.stop())) } })
    // Intake answers 503 from here on; requests in flight finish.
    .add({ name: 'http', start: async () => { await app.listen({ host: config.host, port: config.port }) }, stop: () => app.close() })
    .add({
      name: 'handshakes',
      // One registration failing does not hold up the others, and a failed one keeps trying.
      start: () => {
        handshakes = Promise.all(config.registrations.map((registration) => registerUntilDone(registration, {
          handshake: { ...config.handshake, campaignSendUrl: config.campaignSendUrl, timeoutMs: config.outbox.timeoutMs, logger, signal: shutdown.signal },
          readiness
        }))).then((results) => results.filter((r): r is HandshakeFailure => r !== undefined))
      },
      stop: () => { shutdown.abort(new Error('service stopping')) }
    })

  const service: Service = {
    app,
    adminApp,
    store,
    readiness,
    dispatcher,
    reports,
    replies,
    pruner,
    sweeper,
    heartbeat,
    metrics,
    work,
    start: async () => {
      await lifecycle.start()
      return { ...service, url: listeningUrl(app), adminUrl: listeningUrl(adminApp), handshakes }
    },
    stop: () => lifecycle.stop()
  }
  return service
}

/** Opens the configured store (unless one is given), builds the service and starts it. */
export async function startService (config: Config, deps: ServiceDeps): Promise<StartedService> {
  const store = deps.store ?? await openConfiguredStore(config, deps.logger)
  return createService(config, { ...deps, store }).start()
}

/** A name for this process among the replicas when INSTANCE_ID is unset: host, process and a random part (a restarted process is another instance). */
function defaultInstanceId (): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}

function listeningUrl (app: FastifyInstance): string {
  const address = app.server.address()
  return typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)
}
