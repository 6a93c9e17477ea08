import { Counter, Gauge, Histogram, Registry } from 'prom-client'

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
    outboxDeliveries: new Counter({
      name: 'bridge_outbox_deliveries_total',
      help: 'Rows sent to Optimove, by outbox (reports, incoming) and outcome (done, retry, parked)',
      labelNames: ['outbox', 'outcome'] as const,
      registers
    }),
    /** Gauges whose values are read from the service when Prometheus scrapes. */
    gauge (name: string, help: string, labelNames: string[], collect: (g: Gauge) => Promise<void> | void): Gauge {
      return new Gauge({ name, help, labelNames, registers, async collect () { await collect(this) } })
    }
  }
}

export type Metrics = ReturnType<typeof createMetrics>
