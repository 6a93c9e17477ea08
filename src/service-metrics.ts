import type { Dispatchers } from './core/dispatchers.js'
import type { OutboxWorker } from './core/outbox-worker.js'
import type { MaintenanceStore, PendingIncoming, PendingReport } from './core/store/store.js'
import type { Metrics } from './metrics.js'
import type { Readiness } from './readiness.js'

/** The parts of the service the metrics watch. */
export interface ObservedParts {
  store: MaintenanceStore
  readiness: Readiness
  dispatcher: Dispatchers
  reports: OutboxWorker<PendingReport>
  replies: OutboxWorker<PendingIncoming>
}

/** Feeds the metrics from the loops' events, and reads the gauges from the store at scrape time. */
export function observeService (metrics: Metrics, s: ObservedParts): void {
  s.dispatcher.on('settled', ({ outcome, rows, durationMs }) => {
    // Messages ended without a request (out of attempts or too old) are not requests.
    if (durationMs === undefined) return
    metrics.providerRequests.inc({ outcome })
    metrics.providerMessages.inc({ outcome }, rows)
    metrics.providerLatency.observe({ outcome }, durationMs / 1000)
  })
  for (const [outbox, worker] of [['reports', s.reports], ['incoming', s.replies]] as const) {
    worker.on('settled', ({ outcome, rows }) => {
      // Rows handed back unsent (shutdown, a paused registration) were not sent.
      if (outcome !== 'released') metrics.outboxDeliveries.inc({ outbox, outcome }, rows)
    })
  }
  metrics.gauge('bridge_messages', 'Messages in the store, by state (queued and sending are the dispatcher queue)', ['state'], async (g) => {
    const stats = await s.store.stats()
    for (const [state, n] of Object.entries(stats.messages)) g.set({ state }, n)
  })
  metrics.gauge('bridge_outbox_rows', 'Rows of the Optimove outboxes, by outbox and state (pending and sending are the backlog)', ['outbox', 'state'], async (g) => {
    const stats = await s.store.stats()
    for (const outbox of ['reports', 'incoming'] as const) {
      for (const [state, n] of Object.entries(stats[outbox])) g.set({ outbox, state }, n)
    }
  })
  metrics.gauge('bridge_dispatcher_paused', '1 while sending is paused: GatewayAPI asked us to slow down (429/503), or the account has no credit left', [], (g) => { g.set(s.dispatcher.state().paused ? 1 : 0) })
  metrics.gauge('bridge_dispatcher_no_credit', '1 while sending is paused because the GatewayAPI account has no credit left (nothing is failed; top the account up)', [], (g) => { g.set(s.dispatcher.state().noCredit ? 1 : 0) })
  metrics.gauge('bridge_dispatcher_halted', '1 while sending is halted because GatewayAPI refused our credentials or configuration (404/405/415); one request is tried every CREDENTIALS_PROBE_SECONDS and sending resumes by itself', [], (g) => { g.set(s.dispatcher.state().halted === undefined ? 0 : 1) })
  metrics.gauge('bridge_dispatcher_in_flight', 'Requests to GatewayAPI in flight', [], (g) => { g.set(s.dispatcher.state().inFlight) })
  metrics.gauge('bridge_dispatcher_concurrency_limit', 'Requests to GatewayAPI allowed in flight now: SEND_CONCURRENCY, halved when GatewayAPI asks to slow down, fails or answers slower than SEND_LATENCY_TARGET_MS, raised by one per window of fast answers', [], (g) => { g.set(s.dispatcher.state().concurrencyLimit) })
  metrics.gauge('bridge_outbox_paused', '1 while Optimove holds back a registration\'s rows: refused credentials (401/403/404, probed every CREDENTIALS_PROBE_SECONDS) or a 429', ['outbox', 'registration'], (g) => {
    g.reset()
    for (const p of s.readiness.optimovePauses()) g.set({ outbox: p.outbox, registration: p.registration }, 1)
  })
  metrics.gauge('bridge_handshake_state', 'Startup handshake of each registration: 1 for its current state', ['registration', 'state'], (g) => {
    for (const [registration, current] of s.readiness.handshakes) {
      for (const state of ['pending', 'registered', 'failed']) g.set({ registration, state }, state === current ? 1 : 0)
    }
  })
}
