import { SENDING_OK, type SendingStatus } from './core/sending-status.js'

/** Where each registration's startup handshake stands. */
export type HandshakeState = 'pending' | 'registered' | 'failed'

/**
 * What `/ready` and `/health` report: shared by the startup sequence (writer) and the routes
 * (reader). Handshakes and sending are listed for operators; neither decides readiness.
 */
export class Readiness {
  readonly handshakes = new Map<string, HandshakeState>()
  /** Whether sending is halted or paused, and why (the dispatcher keeps it current). */
  sending: SendingStatus = SENDING_OK
  /** Registrations whose rows to Optimove are held back now (refused credentials, or asked to slow down). */
  optimovePauses: () => Array<{ outbox: string; registration: string; state: 'paused' | 'probing'; until?: number; reason?: string }> = () => []

  constructor (registrationIds: readonly string[]) {
    for (const id of registrationIds) this.handshakes.set(id, 'pending')
  }

  setHandshake (registrationId: string, state: HandshakeState): void {
    this.handshakes.set(registrationId, state)
  }

  /**
   * Ready means "can take webhooks": the process listens (it answers this) and the store
   * answers (checked by the route). A halted or paused dispatcher, or a handshake still
   * under way or failed, must not take the webhooks away: Optimove's campaigns would be
   * refused and GatewayAPI's status events would queue up at GatewayAPI, while the store
   * would keep them safe and deliver them the moment sending works again.
   */
  isReady (): boolean {
    return true
  }
}
