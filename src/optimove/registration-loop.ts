import { delay } from '../lib/timers.js'
import type { Registration } from '../registration.js'
import type { Readiness } from '../readiness.js'
import { performHandshake, type HandshakeOptions } from './handshake-client.js'

export interface HandshakeFailure {
  registrationId: string
  reason: string
}

/**
 * Registers one registration with Optimove and never gives up while the service runs: a round
 * of handshake attempts (HANDSHAKE_MAX_ATTEMPTS, with backoff), and after a failed round
 * another one every `maxDelayMs`, until one succeeds. A rejected handshake (a 4xx) is tried
 * again too: the tenant may fix its side without telling us. Resolves after the first round
 * with its failure (or undefined when it registered); the retries go on behind it.
 */
export function registerUntilDone (registration: Registration, o: { handshake: HandshakeOptions; readiness: Readiness }): Promise<HandshakeFailure | undefined> {
  const log = o.handshake.logger.child({ registration: registration.id })
  const stopped = (): boolean => o.handshake.signal?.aborted === true
  return new Promise((resolve) => {
    void (async () => {
      for (let round = 1; !stopped(); round++) {
        try {
          await performHandshake(registration, o.handshake)
          o.readiness.setHandshake(registration.id, 'registered')
          if (round > 1) log.info({ rounds: round }, 'handshake completed after retrying in the background')
          resolve(undefined)
          return
        } catch (err) {
          const reason = (err as Error).message
          if (stopped()) break
          o.readiness.setHandshake(registration.id, 'failed')
          if (round === 1) resolve({ registrationId: registration.id, reason })
          else log.warn({ rounds: round, reason }, 'handshake still failing; retrying in the background')
        }
        await delay(o.handshake.maxDelayMs, o.handshake.signal).catch(() => undefined)
      }
      resolve({ registrationId: registration.id, reason: 'the service stopped before the handshake completed' })
    })()
  })
}
