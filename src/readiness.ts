/** Where each registration's startup handshake stands. */
export type HandshakeState = 'pending' | 'registered' | 'failed'

/** What `/ready` reports: shared by the startup sequence (writer) and the routes (reader). */
export class Readiness {
  readonly handshakes = new Map<string, HandshakeState>()
  /** Why sending stopped for good (the provider refused our credentials), if it did. */
  sendingHalted: string | undefined

  constructor (registrationIds: readonly string[]) {
    for (const id of registrationIds) this.handshakes.set(id, 'pending')
  }

  setHandshake (registrationId: string, state: HandshakeState): void {
    this.handshakes.set(registrationId, state)
  }

  /**
   * Ready when sending is not halted, no handshake is still under way, and at least one
   * registration is registered: one tenant's misconfiguration must not take the others down.
   */
  isReady (): boolean {
    const states = [...this.handshakes.values()]
    return this.sendingHalted === undefined && !states.includes('pending') && states.includes('registered')
  }
}
