import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { buildApp } from './app.js'
import type { Config } from './config.js'
import type { Clock } from './lib/clock.js'
import { openStore } from './core/store/open-store.js'
import type { Store } from './core/store/store.js'
import { performHandshake } from './optimove/handshake-client.js'
import { Readiness } from './readiness.js'

export interface Service {
  app: FastifyInstance
  store: Store
  readiness: Readiness
  /** The address the HTTP server listens on. */
  url: string
  /** Resolves when every registration's handshake is done; rejects on the first that fails for good. */
  handshakes: Promise<void>
  /** Stops taking requests, lets those in flight finish, then closes the store. Idempotent. */
  stop(): Promise<void>
}

/**
 * The startup sequence: store (with migrations) → app → listen → handshakes.
 * We listen before the handshake because Optimove may call the campaign URL as soon as we register it.
 */
export async function startService (config: Config, deps: { logger: Logger; clock?: Clock; store?: Store }): Promise<Service> {
  const store = deps.store ?? openStore(config.databaseUrl)
  const readiness = new Readiness(config.registrations.map((r) => r.id))
  const app = buildApp(config, { store, logger: deps.logger, readiness, ...(deps.clock ? { clock: deps.clock } : {}) })
  const shutdown = new AbortController()
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shutdown.abort(new Error('service stopping'))
      await app.close()
      await store.close()
    })()
    return stopping
  }

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    await store.close()
    throw err
  }
  const address = app.server.address()
  const url = typeof address === 'object' && address !== null ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address)

  const handshakes = Promise.all(config.registrations.map(async (registration) => {
    try {
      await performHandshake(registration, { ...config.handshake, campaignSendUrl: config.campaignSendUrl, logger: deps.logger, signal: shutdown.signal })
      readiness.setHandshake(registration.id, 'registered')
    } catch (err) {
      readiness.setHandshake(registration.id, 'failed')
      throw err
    }
  })).then(() => undefined)
  // The caller decides what a failed handshake means; never an unhandled rejection.
  handshakes.catch(() => {})

  return { app, store, readiness, url, handshakes, stop }
}
