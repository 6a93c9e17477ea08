import { Counter, Registry } from 'prom-client'

/**
 * The service's Prometheus metrics, on a registry of its own (nothing global, so that
 * several apps in one process, as in tests, do not share counts).
 */
export function createMetrics () {
  const registry = new Registry()
  return {
    registry,
    webhookEvents: new Counter({
      name: 'bridge_webhook_events_total',
      help: 'GatewayAPI webhook events received, by event type and outcome',
      labelNames: ['event_type', 'outcome'] as const,
      registers: [registry]
    })
  }
}

export type Metrics = ReturnType<typeof createMetrics>
