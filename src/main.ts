import { ConfigError, parseConfig } from './config.js'
import { createLogger, logDestination } from './logger.js'
import { startService } from './service.js'
import { setBoundedTimeout } from './lib/timers.js'
import { loadEnvFileIfPresent } from './env-file.js'

/** Entry point: environment (and an optional .env file) → config → service; signals stop it. */
async function main (): Promise<void> {
  loadEnvFileIfPresent()
  let config
  try {
    config = parseConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(78)
    }
    throw err
  }

  let destination
  try {
    destination = await logDestination(config.logFormat)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(78)
    }
    throw err
  }
  const logger = createLogger(config.logLevel, destination)
  const service = await startService(config, { logger })
  logger.info({ url: service.url, adminUrl: service.adminUrl, campaignSendUrl: config.campaignSendUrl }, 'listening')

  let exiting = false
  const exit = (code: number): void => {
    if (exiting) return
    exiting = true
    // Whatever is still unsettled after the grace period is safe in the store: leases expire,
    // and the next start resends or re-reports it.
    setBoundedTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown took longer than its grace period; exiting anyway')
      process.exit(1)
    }, config.shutdownGraceMs).unref()
    service.stop().then(() => {
      logger.info('stopped')
      process.exit(code)
    }, (err) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  // Intake answers 503 from here on; sends and reports in flight finish; then the store closes.
  process.once('SIGTERM', () => { logger.info('SIGTERM: shutting down'); exit(0) })
  process.once('SIGINT', () => { logger.info('SIGINT: shutting down'); exit(0) })

  // A failed handshake never stops the process: the webhooks keep taking work (reports and
  // replies of earlier campaigns still flow), and the registration keeps trying in the background.
  service.handshakes.then((failures) => {
    if (exiting) return
    for (const failure of failures) logger.error({ registration: failure.registrationId, reason: failure.reason }, 'startup handshake failed; retrying in the background')
    logger.info({ registered: config.registrations.length - failures.length, failed: failures.length }, 'ready')
  })
}

main().catch((err) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
