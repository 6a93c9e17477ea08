import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config } from './config.js'
import { ConfigError } from './config-error.js'

/** Header and field names whose values are credentials; pino replaces them before writing. */
export const REDACTED_PATHS = [
  'req.headers["x-api-key"]',
  'req.headers["app-api-key"]',
  'req.headers.authorization',
  'req.headers["x-hub-signature"]',
  'req.headers.signature',
  'headers["x-api-key"]',
  'headers["app-api-key"]',
  'headers.authorization',
  'headers["x-hub-signature"]',
  'headers.signature',
  '*.appApiKey',
  '*.sharedSecret',
  '*.aggregatorApiKey',
  '*.token',
  '*.webhookSecret',
  '*.gatewayapiToken',
  '*.gatewayapiWebhookSecret'
]

/** The service's logger: JSON lines with ISO-8601 times, credentials redacted, request ids from Fastify. */
export function createLogger (level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino({ level, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination)
}

/**
 * The level of the probes' request lines (`/health`, `/ready`, `/metrics`, asked every few
 * seconds): shown at `debug` and `trace` only, so that they do not bury the info log.
 */
export function probeLogLevel (level: Config['logLevel']): Config['logLevel'] {
  return level === 'info' ? 'warn' : level
}

/**
 * Where log lines go for a format: stdout as JSON (undefined: pino's own), or, for `pretty`,
 * through pino-pretty (a development dependency, for a terminal) into `out` (default stdout).
 * Without pino-pretty installed, `pretty` is refused with a message saying so.
 */
export async function logDestination (format: Config['logFormat'], out?: NodeJS.WritableStream): Promise<DestinationStream | undefined> {
  if (format === 'json') return undefined
  let pretty: typeof import('pino-pretty')
  try {
    pretty = (await import('pino-pretty')).default
  } catch {
    throw new ConfigError('Invalid configuration: LOG_FORMAT=pretty needs pino-pretty, a development dependency (npm ci installs it); use LOG_FORMAT=json in production')
  }
  return pretty({ colorize: out === undefined && process.stdout.isTTY, sync: true, ...(out === undefined ? {} : { destination: out }) })
}
