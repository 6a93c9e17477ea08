/** Where each registration's startup handshake stands. */
export type HandshakeState = 'pending' | 'registered' | 'failed'

/** What `/ready` reports: shared by the startup sequence (writer) and the routes (reader). */
export class Readiness {
  readonly handshakes = new Map<string, HandshakeState>()

  constructor (registrationIds: readonly string[]) {
    for (const id of registrationIds) this.handshakes.set(id, 'pending')
  }

  setHandshake (registrationId: string, state: HandshakeState): void {
    this.handshakes.set(registrationId, state)
  }

  allRegistered (): boolean {
    for (const state of this.handshakes.values()) if (state !== 'registered') return false
    return true
  }
}
