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
}
