import { ConfigError, parseConfig } from './config.js'
import { createLogger } from './logger.js'
import { startService } from './service.js'

/** Entry point: environment (and an optional .env file) → config → service; signals stop it. */
async function main (): Promise<void> {
  try {
    process.loadEnvFile()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
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

  const logger = createLogger(config.logLevel)
  const service = await startService(config, { logger })
  logger.info({ url: service.url, campaignSendUrl: config.campaignSendUrl }, 'listening')

  let exiting = false
  const exit = (code: number): void => {
    if (exiting) return
    exiting = true
    service.stop().then(() => process.exit(code), (err) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.once('SIGTERM', () => { logger.info('SIGTERM: shutting down'); exit(0) })
  process.once('SIGINT', () => { logger.info('SIGINT: shutting down'); exit(0) })

  service.handshakes.then(() => logger.info('ready'), (err: Error) => {
    if (exiting) return
    logger.fatal({ reason: err.message }, 'startup handshake failed')
    exit(1)
  })
}

main().catch((err) => {
  process.stderr.write(`fatal: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
