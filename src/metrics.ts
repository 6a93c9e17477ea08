import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

let processRegistry: Registry | undefined
/**
 * The process's and Node.js runtime's metrics (prom-client's defaults: CPU, memory, event loop
 * lag, GC, handles), once per process however many apps it runs: they describe the process.
 */
export function processMetrics (): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

/**
 * The service's Prometheus metrics, on a registry of its own (nothing global, so that several
 * apps in one process, as in tests, never share counts). Gauges are read at scrape time.
 */
export function createMetrics () {
  const registry = new Registry()
  const registers = [registry]
  return {
    registry,
    campaigns: new Counter({
      name: 'bridge_campaigns_total',
      help: 'Campaign requests answered 200, by registration and whether they were new or a duplicate',
      labelNames: ['registration', 'outcome'] as const,
      registers
    }),
    campaignMessages: new Counter({
      name: 'bridge_campaign_messages_total',
      help: 'Recipients of new campaigns, by registration: accepted for sending, or rejected as unusable',
      labelNames: ['registration', 'outcome'] as const,
      registers
    }),
    campaignRefusals: new Counter({
      name: 'bridge_campaign_refusals_total',
      help: 'Campaign requests refused, by reason (unauthorized, signature, invalid, too-large, unavailable)',
      labelNames: ['reason'] as const,
      registers
    }),
    campaignConflicts: new Counter({
      name: 'bridge_campaign_conflicts_total',
      help: 'Campaign requests whose idempotency key was known with another body: answered as duplicates, nothing sent',
      labelNames: ['registration'] as const,
      registers
    }),
    providerRequests: new Counter({
      name: 'bridge_provider_requests_total',
      help: 'Requests to GatewayAPI, by outcome (sent, invalid, refused, unauthorized, throttled, transient)',
      labelNames: ['outcome'] as const,
      registers
    }),
    providerMessages: new Counter({
      name: 'bridge_provider_messages_total',
      help: 'Messages in requests to GatewayAPI, by the outcome of their request',
      labelNames: ['outcome'] as const,
      registers
    }),
    providerLatency: new Histogram({
      name: 'bridge_provider_request_duration_seconds',
      help: 'Duration of requests to GatewayAPI, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    webhookEvents: new Counter({
      name: 'bridge_webhook_events_total',
      help: 'GatewayAPI webhook events, by event type and outcome (recorded, duplicate, unknown-message, unusable, signature-refused, stale, future, invalid)',
      labelNames: ['event_type', 'outcome'] as const,
      registers
    }),
    httpDuration: new Histogram({
      name: 'bridge_http_request_duration_seconds',
      help: 'Duration of the HTTP requests we answered, by method, route (its pattern; "unmatched" for none) and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    outboxDeliveries: new Counter({
      name: 'bridge_outbox_deliveries_total',
      help: 'Rows sent to Optimove, by outbox (reports, incoming) and outcome (done, retry, parked)',
      labelNames: ['outbox', 'outcome'] as const,
      registers
    }),
    /** The text Prometheus scrapes: this app's metrics, then the process's. */
    async exposition (): Promise<string> {
      return `${await registry.metrics()}${await processMetrics().metrics()}`
    },
    /** Gauges whose values are read from the service when Prometheus scrapes. */
    gauge (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void> | void): Gauge {
      return new Gauge({ name, help, labelNames, registers, async collect () { await collect(this) } })
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
