import { parseConfig, type Config } from '../config.js'
import { SENDER_ID } from './campaign.js'

/** The demo's fake credentials: shared by the service and the simulated peers, never real. */
export const DEMO_SECRETS = {
  optimoveAppApiKey: 'demo-optimove-app-api-key',
  optimoveSharedSecret: 'demo-optimove-shared-secret',
  aggregatorApiKey: 'demo-aggregator-api-key',
  gatewayapiToken: 'demo-gatewayapi-token',
  gatewayapiWebhookSecret: 'demo-gatewayapi-webhook-secret'
} as const

/**
 * The service's configuration for the demo, from embedded values only: the process
 * environment (and any .env file) is ignored, so the demo runs the same on every machine.
 */
export function demoConfig (peers: { port: number; optimoveBaseUrl: string; gatewayapiBaseUrl: string; databasePath: string }): Config {
  return parseConfig({
    HOST: '127.0.0.1',
    PORT: String(peers.port),
    // Any free port: the demo prints where it is.
    ADMIN_PORT: '0',
    LOG_LEVEL: 'warn',
    PUBLIC_URL: `http://127.0.0.1:${peers.port}`,
    OPTIMOVE_BASE_URL: peers.optimoveBaseUrl,
    OPTIMOVE_APP_API_KEY: DEMO_SECRETS.optimoveAppApiKey,
    OPTIMOVE_SHARED_SECRET: DEMO_SECRETS.optimoveSharedSecret,
    AGGREGATOR_API_KEY: DEMO_SECRETS.aggregatorApiKey,
    SENDER_ID,
    GATEWAYAPI_BASE_URL: peers.gatewayapiBaseUrl,
    GATEWAYAPI_TOKEN: DEMO_SECRETS.gatewayapiToken,
    GATEWAYAPI_WEBHOOK_SECRET: DEMO_SECRETS.gatewayapiWebhookSecret,
    DATABASE_URL: `sqlite:${peers.databasePath}`,
    HANDSHAKE_MAX_ATTEMPTS: '3',
    HANDSHAKE_BASE_DELAY_MS: '50',
    HANDSHAKE_MAX_DELAY_MS: '500'
  })
}
