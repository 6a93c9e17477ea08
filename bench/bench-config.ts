import { parseConfig, type Config } from '../src/config.js'

/** Credentials the benchmarks' simulated peers and the service share; none is real. */
export const BENCH = {
  appApiKey: 'bench-app-key',
  sharedSecret: 'bench-shared-secret',
  aggregatorApiKey: 'bench-aggregator-key',
  gatewayToken: 'bench-token',
  webhookSecret: 'bench-webhook-secret'
}

/** The service's environment for a benchmark on loopback, quiet, with these variables on top. */
export function benchEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    // Any free port: several replicas run side by side, and no benchmark reads the admin listener.
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'http://127.0.0.1',
    OPTIMOVE_BASE_URL: 'http://127.0.0.1:1',
    OPTIMOVE_APP_API_KEY: BENCH.appApiKey,
    OPTIMOVE_SHARED_SECRET: BENCH.sharedSecret,
    AGGREGATOR_API_KEY: BENCH.aggregatorApiKey,
    SENDER_ID: 'Bench',
    GATEWAYAPI_TOKEN: BENCH.gatewayToken,
    GATEWAYAPI_WEBHOOK_SECRET: BENCH.webhookSecret,
    // STORE_THREAD=true npm run bench:… measures the store on its own thread.
    STORE_THREAD: process.env.STORE_THREAD,
    ...overrides
  }
}

/** The service's config for a benchmark on loopback (see benchEnv). */
export function benchConfig (overrides: Record<string, string | undefined> = {}): Config {
  return parseConfig(benchEnv(overrides))
}
