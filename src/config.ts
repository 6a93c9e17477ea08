import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './config-error.js'
import { isPostgresUrl, isSqliteUrl } from './core/store/database-url.js'
import { DEFAULT_LATENCY_TARGET_MS } from './core/dispatcher.js'
import { optOutKeywords, type OptOutKeywords } from './core/opt-out.js'
import { loadRegistrations } from './registrations-file.js'
import { httpUrlSchema as httpUrl, registrationFields as field, secretSchema as secret, toRegistration, withoutTrailingSlash, type Registration } from './registration.js'

export type { Registration }

export interface Config {
  /** Where the webhooks (and a bare `/health`) are served. */
  host: string
  port: number
  /** Where operators' endpoints are served: `/metrics`, `/ready`, `/health` with details, the admin API (with `token`). */
  admin: { host: string; port: number; token: string | undefined }
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** JSON lines (for log collectors), or `pretty` for a terminal (pino-pretty, a development dependency). */
  logFormat: 'json' | 'pretty'
  publicUrl: string
  /** What we register with Optimove: PUBLIC_URL + CAMPAIGN_SEND_PATH. */
  campaignSendUrl: string
  registrations: Registration[]
  gatewayapi: { baseUrl: string; token: string; webhookSecret: string }
  databaseUrl: string
  /** PostgreSQL: connections at most, per process (each replica has its own pool). */
  databasePoolSize: number
  /** PostgreSQL: the server cancels a statement (or a transaction left idle) that runs longer. */
  databaseStatementTimeoutMs: number
  campaignBodyLimitBytes: number
  /** Bounds on what one caller can make the HTTP server hold. */
  http: HttpLimits
  /** Largest campaign `metadata` value, in bytes (it is copied into every delivery report). */
  metadataLimitBytes: number
  /** How long a store call may wait for another process's database lock before it fails. */
  storeBusyTimeoutMs: number
  handshake: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number }
  send: SendConfig
  /** GatewayAPI webhook events older than this are refused. */
  webhookMaxAgeMs: number
  /** The replies that put their number on (stop) or take it off (start) a registration's suppression list. */
  optOut: OptOutKeywords
  outbox: OutboxConfig
  /** How long SIGTERM/SIGINT may take to drain before the process exits anyway. */
  shutdownGraceMs: number
  /** Run the store on a worker thread of its own (more throughput, more memory). */
  storeThread: boolean
  /** Rows no longer needed are deleted once older than `retentionMs`, every `intervalMs`; the number→registration memory after `recipientMemoryMs`. */
  prune: { retentionMs: number; intervalMs: number; recipientMemoryMs: number }
  /** A message still without a final status `graceMs` after its expiration is ended; looked for every `sweepIntervalMs`. */
  finalStatus: { graceMs: number; sweepIntervalMs: number }
  /** This process among the replicas on one database: its name (generated when unset), how often it beats, when a silent one counts as dead. */
  instance: { id: string | undefined; heartbeatMs: number; deadAfterMs: number }
}

export interface HttpLimits {
  /**
   * Whom to believe about the client's address (`X-Forwarded-For`): nobody (false), every proxy
   * (true), so many hops, or these addresses and networks.
   */
  trustProxy: boolean | number | string[]
  /** Largest GatewayAPI webhook body (its events are a few KB). */
  webhookBodyLimitBytes: number
  /** Open connections at most; more are refused. */
  maxConnections: number
  /** Deadline for a whole request (headers and body) to arrive. */
  requestTimeoutMs: number
  /** Deadline for a request's headers to arrive. */
  headersTimeoutMs: number
}

export interface OutboxConfig {
  concurrency: number
  /** While Optimove refuses a registration's credentials (401/403/404), its outbox is probed this often. */
  authProbeMs: number
  /** Bytes of report bodies one claim may hold (rows are bounded too). */
  claimLimitBytes: number
  retryBaseMs: number
  retryMaxMs: number
  timeoutMs: number
  idlePollMs: number
  leaseMs: number
}

export interface SendConfig {
  concurrency: number
  batchSize: number
  maxAttempts: number
  maxAgeMs: number
  leaseMs: number
  retryBaseMs: number
  retryMaxMs: number
  requestTimeoutMs: number
  /** A request taken slower than this lowers the dispatcher's concurrency limit. */
  latencyTargetMs: number
  connectTimeoutMs: number
  defaultRetryAfterMs: number
  /** Longest pause a `Retry-After` may impose. */
  maxRetryAfterMs: number
  /** While GatewayAPI refuses our token, it is tried again this often. */
  credentialsProbeMs: number
  /** Pause of sending when the GatewayAPI account has no credit left. */
  noCreditPauseMs: number
  idlePollMs: number
}

export const CAMPAIGN_SEND_PATH = '/api/v1/campaigns/send'

export { ConfigError }

const wholeNumber = () => z.string().regex(/^\d+$/, 'must be a whole number').transform(Number)
const positiveInt = (fallback: number) => wholeNumber().pipe(z.number().min(1, 'must be at least 1')).default(fallback)
/** A port number; 0 is any free port. */
const port = (fallback: number) => wholeNumber().pipe(z.number().max(65535, 'must be a port number (0-65535)')).default(fallback)

/** DATABASE_URL: the service's and the operator's CLI's. */
export const databaseUrlSchema = z.string()
  .refine((url) => isSqliteUrl(url) || (isPostgresUrl(url) && URL.canParse(url)), 'must be sqlite:<path>, a file path, or a postgres:// (postgresql://) URL')
  .default('sqlite:./data/bridge.db')

/** A comma-separated list of reply keywords (`STOPP, AFMELD`): each a word of letters or digits. */
const keywordList = z.string().transform((v) => v.split(',').map((k) => k.trim()).filter((k) => k !== ''))
  .pipe(z.array(z.string().regex(/^[\p{L}\p{N}]{1,30}$/u, 'must be comma-separated words (letters or digits, up to 30 each)')))
  .default([])

const SINGLE_REGISTRATION = ['OPTIMOVE_BASE_URL', 'OPTIMOVE_APP_API_KEY', 'OPTIMOVE_SHARED_SECRET', 'AGGREGATOR_API_KEY', 'SENDER_ID'] as const

const envSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port(3000),
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ADMIN_PORT: port(3001),
  TRUST_PROXY: z.string().transform((value, ctx) => {
    const v = value.trim()
    if (v === 'true' || v === 'false') return v === 'true'
    if (/^\d+$/.test(v)) return Number(v)
    const addresses = v.split(',').map((a) => a.trim()).filter((a) => a !== '')
    if (addresses.every((a) => /^[\d.:a-fA-F]+(\/\d{1,3})?$/.test(a))) return addresses
    ctx.addIssue({ code: 'custom', message: 'must be true, false, a number of proxies, or addresses and networks separated by commas' })
    return z.NEVER
  }).default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty'], { error: 'must be json or pretty' }).default('json'),
  PUBLIC_URL: httpUrl,
  REGISTRATIONS_FILE: z.string().min(1).optional(),
  OPTIMOVE_BASE_URL: field.optimoveBaseUrl.optional(),
  OPTIMOVE_API_PREFIX: field.optimoveApiPrefix.default('/api/v1/aggregator'),
  OPTIMOVE_APP_API_KEY: field.appApiKey.optional(),
  OPTIMOVE_SHARED_SECRET: field.sharedSecret.optional(),
  AGGREGATOR_API_KEY: field.aggregatorApiKey.optional(),
  SENDER_ID: field.senderId.optional(),
  GATEWAYAPI_BASE_URL: httpUrl.default('https://messaging.gatewayapi.com'),
  GATEWAYAPI_TOKEN: secret,
  GATEWAYAPI_WEBHOOK_SECRET: secret,
  DATABASE_URL: databaseUrlSchema,
  DATABASE_POOL_SIZE: positiveInt(10).pipe(z.number().max(1000, 'must be at most 1000')),
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(30_000),
  CAMPAIGN_BODY_LIMIT_BYTES: positiveInt(32 * 1024 * 1024),
  METADATA_LIMIT_BYTES: positiveInt(64 * 1024),
  WEBHOOK_BODY_LIMIT_BYTES: positiveInt(64 * 1024),
  HTTP_MAX_CONNECTIONS: positiveInt(2048),
  HTTP_REQUEST_TIMEOUT_MS: positiveInt(60_000),
  HTTP_HEADERS_TIMEOUT_MS: positiveInt(10_000),
  STORE_BUSY_TIMEOUT_MS: positiveInt(1500),
  HANDSHAKE_MAX_ATTEMPTS: positiveInt(8),
  HANDSHAKE_BASE_DELAY_MS: positiveInt(500),
  HANDSHAKE_MAX_DELAY_MS: positiveInt(30_000),
  SEND_CONCURRENCY: positiveInt(8).pipe(z.number().max(32, 'must be at most 32 (GatewayAPI allows 40 connections per client)')),
  SEND_BATCH_SIZE: positiveInt(1000).pipe(z.number().max(1000, 'must be at most 1000 (GatewayAPI\'s limit per request)')),
  SEND_MAX_ATTEMPTS: positiveInt(10),
  SEND_MAX_AGE_SECONDS: positiveInt(24 * 3600),
  SEND_LEASE_SECONDS: positiveInt(120),
  SEND_RETRY_BASE_MS: positiveInt(1000),
  SEND_RETRY_MAX_MS: positiveInt(300_000),
  SEND_TIMEOUT_MS: positiveInt(30_000),
  SEND_LATENCY_TARGET_MS: wholeNumber().pipe(z.number().min(1, 'must be at least 1')).optional(),
  SEND_DEFAULT_RETRY_AFTER_SECONDS: positiveInt(5),
  SEND_MAX_RETRY_AFTER_SECONDS: positiveInt(3600),
  SEND_IDLE_POLL_MS: positiveInt(1000),
  WEBHOOK_MAX_AGE_SECONDS: positiveInt(72 * 3600),
  INBOUND_TO: field.inboundTo.optional(),
  OPT_OUT_KEYWORDS: keywordList,
  OPT_IN_KEYWORDS: keywordList,
  DEFAULT_COUNTRY: field.defaultCountry.optional(),
  MESSAGE_EXPIRATION: field.expiration.default({ text: 'P2D', ms: 2 * 86_400_000 }),
  FINAL_STATUS_GRACE_HOURS: positiveInt(6),
  FINAL_STATUS_SWEEP_MINUTES: positiveInt(5),
  CREDENTIALS_PROBE_SECONDS: positiveInt(300),
  SEND_NO_CREDIT_PAUSE_SECONDS: positiveInt(900),
  RECIPIENT_MEMORY_DAYS: positiveInt(90),
  REPORT_CONCURRENCY: positiveInt(16).pipe(z.number().max(256, 'must be at most 256')),
  REPORT_RETRY_BASE_MS: positiveInt(1000),
  REPORT_RETRY_MAX_MS: positiveInt(300_000),
  REPORT_TIMEOUT_MS: positiveInt(10_000),
  REPORT_IDLE_POLL_MS: positiveInt(1000),
  REPORT_CLAIM_LIMIT_BYTES: positiveInt(4 * 1024 * 1024),
  SHUTDOWN_GRACE_MS: positiveInt(25_000),
  STORE_THREAD: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  RETENTION_DAYS: positiveInt(7),
  PRUNE_INTERVAL_MINUTES: positiveInt(60),
  INSTANCE_ID: z.string().regex(/^[\w.:@-]{1,100}$/, 'must be 1-100 letters, digits or . _ : @ -').optional(),
  INSTANCE_HEARTBEAT_MS: positiveInt(2000),
  INSTANCE_DEAD_AFTER_MS: positiveInt(10_000)
}).refine((e) => e.SEND_LEASE_SECONDS * 1000 >= 2 * e.SEND_TIMEOUT_MS, {
  path: ['SEND_LEASE_SECONDS'],
  message: 'must be at least twice SEND_TIMEOUT_MS, so that a request in flight never outlives its lease'
}).refine((e) => e.SEND_LATENCY_TARGET_MS === undefined || e.SEND_LATENCY_TARGET_MS < e.SEND_TIMEOUT_MS, {
  path: ['SEND_LATENCY_TARGET_MS'],
  message: 'must be shorter than SEND_TIMEOUT_MS (a request that times out is an overload anyway)'
}).refine((e) => e.ADMIN_PORT === 0 || e.ADMIN_PORT !== e.PORT, {
  path: ['ADMIN_PORT'],
  message: 'must differ from PORT (the admin endpoints have a listener of their own)'
}).refine((e) => e.HTTP_HEADERS_TIMEOUT_MS <= e.HTTP_REQUEST_TIMEOUT_MS, {
  path: ['HTTP_HEADERS_TIMEOUT_MS'],
  message: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS'
}).refine((e) => e.RETENTION_DAYS * 86_400 > e.WEBHOOK_MAX_AGE_SECONDS, {
  path: ['RETENTION_DAYS'],
  message: 'must be longer than WEBHOOK_MAX_AGE_SECONDS, so that a replayed event is still remembered'
}).refine((e) => e.INSTANCE_DEAD_AFTER_MS >= 3 * e.INSTANCE_HEARTBEAT_MS, {
  path: ['INSTANCE_DEAD_AFTER_MS'],
  message: 'must be at least three times INSTANCE_HEARTBEAT_MS, so that a late heartbeat or two does not count a live replica as dead'
}).superRefine((e, ctx) => {
  // Without a registrations file, the environment describes the one registration.
  if (e.REGISTRATIONS_FILE !== undefined) return
  for (const name of SINGLE_REGISTRATION) {
    if (e[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: 'is required (or set REGISTRATIONS_FILE)' })
  }
})

/** Every environment variable the service reads (the README's table and .env.example list each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape)

/** Parses the environment once; throws ConfigError naming every bad variable, one line each. */
export function parseConfig (env: Record<string, string | undefined>, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): Config {
  // A blank variable counts as unset, so `FOO=` in a .env file falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''))
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment')
      const what = present[name] === undefined && issue.code === 'invalid_type' ? 'is required' : issue.message
      return `Invalid configuration: ${name} ${what}`
    })
    throw new ConfigError([...new Set(lines)].join('\n'))
  }
  const e = parsed.data
  const publicUrl = withoutTrailingSlash(e.PUBLIC_URL)
  // What a registration leaves unset: the environment's values.
  const gatewayapi = { baseUrl: withoutTrailingSlash(e.GATEWAYAPI_BASE_URL), token: e.GATEWAYAPI_TOKEN, webhookSecret: e.GATEWAYAPI_WEBHOOK_SECRET }
  const defaults = { optimoveApiPrefix: e.OPTIMOVE_API_PREFIX, expiration: e.MESSAGE_EXPIRATION, defaultCountry: e.DEFAULT_COUNTRY }
  return {
    host: e.HOST,
    port: e.PORT,
    admin: { host: e.ADMIN_HOST, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    publicUrl,
    campaignSendUrl: publicUrl + CAMPAIGN_SEND_PATH,
    registrations: e.REGISTRATIONS_FILE !== undefined
      ? loadRegistrations(e.REGISTRATIONS_FILE, readFile, defaults)
      : [toRegistration({
          id: 'default',
          optimoveBaseUrl: e.OPTIMOVE_BASE_URL!,
          appApiKey: e.OPTIMOVE_APP_API_KEY!,
          sharedSecret: e.OPTIMOVE_SHARED_SECRET!,
          aggregatorApiKey: e.AGGREGATOR_API_KEY!,
          senderId: e.SENDER_ID!,
          inboundTo: e.INBOUND_TO
        }, defaults)],
    gatewayapi,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databaseStatementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    campaignBodyLimitBytes: e.CAMPAIGN_BODY_LIMIT_BYTES,
    http: {
      trustProxy: e.TRUST_PROXY,
      webhookBodyLimitBytes: e.WEBHOOK_BODY_LIMIT_BYTES,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS
    },
    metadataLimitBytes: e.METADATA_LIMIT_BYTES,
    storeBusyTimeoutMs: e.STORE_BUSY_TIMEOUT_MS,
    handshake: { maxAttempts: e.HANDSHAKE_MAX_ATTEMPTS, baseDelayMs: e.HANDSHAKE_BASE_DELAY_MS, maxDelayMs: e.HANDSHAKE_MAX_DELAY_MS },
    send: {
      concurrency: e.SEND_CONCURRENCY,
      batchSize: e.SEND_BATCH_SIZE,
      maxAttempts: e.SEND_MAX_ATTEMPTS,
      maxAgeMs: e.SEND_MAX_AGE_SECONDS * 1000,
      leaseMs: e.SEND_LEASE_SECONDS * 1000,
      retryBaseMs: e.SEND_RETRY_BASE_MS,
      retryMaxMs: e.SEND_RETRY_MAX_MS,
      requestTimeoutMs: e.SEND_TIMEOUT_MS,
      latencyTargetMs: e.SEND_LATENCY_TARGET_MS ?? Math.min(DEFAULT_LATENCY_TARGET_MS, Math.floor(e.SEND_TIMEOUT_MS / 2)),
      connectTimeoutMs: Math.min(10_000, e.SEND_TIMEOUT_MS),
      defaultRetryAfterMs: e.SEND_DEFAULT_RETRY_AFTER_SECONDS * 1000,
      maxRetryAfterMs: e.SEND_MAX_RETRY_AFTER_SECONDS * 1000,
      credentialsProbeMs: e.CREDENTIALS_PROBE_SECONDS * 1000,
      noCreditPauseMs: e.SEND_NO_CREDIT_PAUSE_SECONDS * 1000,
      idlePollMs: e.SEND_IDLE_POLL_MS
    },
    webhookMaxAgeMs: e.WEBHOOK_MAX_AGE_SECONDS * 1000,
    optOut: optOutKeywords(e.OPT_OUT_KEYWORDS, e.OPT_IN_KEYWORDS),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    storeThread: e.STORE_THREAD === 'true',
    prune: { retentionMs: e.RETENTION_DAYS * 86_400_000, intervalMs: e.PRUNE_INTERVAL_MINUTES * 60_000, recipientMemoryMs: e.RECIPIENT_MEMORY_DAYS * 86_400_000 },
    finalStatus: { graceMs: e.FINAL_STATUS_GRACE_HOURS * 3_600_000, sweepIntervalMs: e.FINAL_STATUS_SWEEP_MINUTES * 60_000 },
    instance: { id: e.INSTANCE_ID, heartbeatMs: e.INSTANCE_HEARTBEAT_MS, deadAfterMs: e.INSTANCE_DEAD_AFTER_MS },
    outbox: {
      concurrency: e.REPORT_CONCURRENCY,
      retryBaseMs: e.REPORT_RETRY_BASE_MS,
      retryMaxMs: e.REPORT_RETRY_MAX_MS,
      timeoutMs: e.REPORT_TIMEOUT_MS,
      idlePollMs: e.REPORT_IDLE_POLL_MS,
      claimLimitBytes: e.REPORT_CLAIM_LIMIT_BYTES,
      authProbeMs: e.CREDENTIALS_PROBE_SECONDS * 1000,
      // A row's lease outlives any one request to Optimove.
      leaseMs: 3 * e.REPORT_TIMEOUT_MS
    }
  }
}

/** Every secret of a config, so that log redaction and tests can name them all. */
export function configSecrets (config: Config): string[] {
  return [
    ...new Set([config.gatewayapi.token, config.gatewayapi.webhookSecret, ...config.registrations.flatMap((r) => [r.gatewayapi?.token, r.gatewayapi?.webhookSecret].filter((s) => s !== undefined))]),
    ...config.registrations.flatMap((r) => [r.appApiKey, r.sharedSecret, r.aggregatorApiKey]),
    ...databasePassword(config.databaseUrl)
  ]
}

/** The password of a PostgreSQL URL, as written and as meant (percent-decoded), when it has one. */
function databasePassword (url: string): string[] {
  if (!isPostgresUrl(url)) return []
  const written = new URL(url).password
  if (written === '') return []
  let meant = written
  try {
    meant = decodeURIComponent(written)
  } catch {
    // Not percent-encoded text: the driver reads it as written.
  }
  return meant === written ? [written] : [written, meant]
}
