import { z } from 'zod'

/** One Optimove tenant+application we deliver for, with the credentials of both directions. */
export interface Registration {
  /** Stable name used in the store and in logs; never a secret. */
  id: string
  optimoveBaseUrl: string
  /** Path between the base URL and `/handshake`, `/delivery-report`, `/incoming-message`. */
  optimoveApiPrefix: string
  /** Sent by us as `app-api-key`. */
  appApiKey: string
  /** HMAC key of `x-hub-signature`, both directions. */
  sharedSecret: string
  /** Sent back by Optimove as `X-API-Key` on every campaign. */
  aggregatorApiKey: string
  /** Default sender of this registration's messages. */
  senderId: string
}

export interface Config {
  host: string
  port: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  publicUrl: string
  /** What we register with Optimove: PUBLIC_URL + CAMPAIGN_SEND_PATH. */
  campaignSendUrl: string
  registrations: Registration[]
  gatewayapi: { baseUrl: string; token: string; webhookSecret: string }
  databaseUrl: string
  campaignBodyLimitBytes: number
  handshake: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number }
}

export const CAMPAIGN_SEND_PATH = '/api/v1/campaigns/send'

/** Raised when the environment cannot make a valid Config; its message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const secret = z.string().min(1, 'must not be empty')
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
const wholeNumber = () => z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
const positiveInt = (fallback: number) => wholeNumber().pipe(z.number().min(1, 'must be at least 1')).default(fallback)
const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '')

const envSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: wholeNumber().pipe(z.number().max(65535, 'must be a port number (0-65535)')).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_URL: httpUrl,
  OPTIMOVE_BASE_URL: httpUrl,
  OPTIMOVE_API_PREFIX: z.string().regex(/^\/[\w./-]*[^/]$/, 'must start with / and not end with /').default('/api/v1/aggregator'),
  OPTIMOVE_APP_API_KEY: secret,
  OPTIMOVE_SHARED_SECRET: secret,
  AGGREGATOR_API_KEY: secret,
  // GatewayAPI's sender rule: 3-11 letters/digits, or up to 15 digits.
  SENDER_ID: z.string().regex(/^(?:[A-Za-z0-9]{3,11}|\d{1,15})$/, 'must be 3-11 letters/digits or up to 15 digits'),
  GATEWAYAPI_BASE_URL: httpUrl.default('https://messaging.gatewayapi.com'),
  GATEWAYAPI_TOKEN: secret,
  GATEWAYAPI_WEBHOOK_SECRET: secret,
  DATABASE_URL: z.string().regex(/^(sqlite:|file:)?[^:]+$|^sqlite::memory:$/, 'must be sqlite:<path> or a file path').default('sqlite:./data/bridge.db'),
  CAMPAIGN_BODY_LIMIT_BYTES: positiveInt(32 * 1024 * 1024),
  HANDSHAKE_MAX_ATTEMPTS: positiveInt(8),
  HANDSHAKE_BASE_DELAY_MS: positiveInt(500),
  HANDSHAKE_MAX_DELAY_MS: positiveInt(30_000)
})

/** Parses the environment once; throws ConfigError naming the first bad variable. */
export function parseConfig (env: Record<string, string | undefined>): Config {
  // A blank variable counts as unset, so `FOO=` in a .env file falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''))
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'environment')
    const what = present[name] === undefined && issue.code === 'invalid_type' ? 'is required' : issue.message
    throw new ConfigError(`Invalid configuration: ${name} ${what}`)
  }
  const e = parsed.data
  const publicUrl = withoutTrailingSlash(e.PUBLIC_URL)
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    publicUrl,
    campaignSendUrl: publicUrl + CAMPAIGN_SEND_PATH,
    registrations: [{
      id: 'default',
      optimoveBaseUrl: withoutTrailingSlash(e.OPTIMOVE_BASE_URL),
      optimoveApiPrefix: e.OPTIMOVE_API_PREFIX,
      appApiKey: e.OPTIMOVE_APP_API_KEY,
      sharedSecret: e.OPTIMOVE_SHARED_SECRET,
      aggregatorApiKey: e.AGGREGATOR_API_KEY,
      senderId: e.SENDER_ID
    }],
    gatewayapi: { baseUrl: withoutTrailingSlash(e.GATEWAYAPI_BASE_URL), token: e.GATEWAYAPI_TOKEN, webhookSecret: e.GATEWAYAPI_WEBHOOK_SECRET },
    databaseUrl: e.DATABASE_URL,
    campaignBodyLimitBytes: e.CAMPAIGN_BODY_LIMIT_BYTES,
    handshake: { maxAttempts: e.HANDSHAKE_MAX_ATTEMPTS, baseDelayMs: e.HANDSHAKE_BASE_DELAY_MS, maxDelayMs: e.HANDSHAKE_MAX_DELAY_MS }
  }
}

/** Every secret of a config, so that log redaction and tests can name them all. */
export function configSecrets (config: Config): string[] {
  return [
    config.gatewayapi.token,
    config.gatewayapi.webhookSecret,
    ...config.registrations.flatMap((r) => [r.appApiKey, r.sharedSecret, r.aggregatorApiKey])
  ]
}
