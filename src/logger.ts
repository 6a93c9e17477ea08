import pino, { type DestinationStream, type Logger } from 'pino'
import type { Config } from './config.js'

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
  '*.webhookSecret'
]

/** The service's logger: JSON lines, credentials redacted, request ids from Fastify. */
export function createLogger (level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination)
}
