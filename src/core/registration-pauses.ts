/** One registration's outbox held back: until when, and why. */
export interface Pause {
  until: number
  reason: string
  /** A misconfiguration an operator must fix (refused credentials), not a peer asking us to slow down. */
  alert: boolean
}

/**
 * Which registrations' outbox rows must wait, for an outbox worker: a peer that refuses one
 * registration's credentials, or asks it to slow down, holds back that registration alone.
 * When a pause ends the registration is probed: one request at a time until one goes through.
 */
export class RegistrationPauses {
  private readonly paused = new Map<string, Pause>()
  private readonly probing = new Set<string>()
  private readonly probesInFlight = new Set<string>()

  /** Registrations whose rows must not be claimed now. */
  excluded (now: number): string[] {
    const out: string[] = []
    for (const [registration, pause] of this.paused) {
      if (pause.until > now) out.push(registration)
      else {
        // The pause is over: its next request is a probe.
        this.paused.delete(registration)
        this.probing.add(registration)
      }
    }
    return out
  }

  /** Whether a request for this registration may start now: `held` while its probe is out, `paused` while paused. */
  admit (registration: string, now: number): 'go' | 'held' | 'paused' {
    const pause = this.paused.get(registration)
    if (pause !== undefined && pause.until > now) return 'paused'
    if (!this.probing.has(registration)) return 'go'
    if (this.probesInFlight.has(registration)) return 'held'
    this.probesInFlight.add(registration)
    return 'go'
  }

  /** A request of this registration went through: a probe that did ends its pause for good. */
  succeeded (registration: string): boolean {
    this.probesInFlight.delete(registration)
    return this.probing.delete(registration)
  }

  /** A request of this registration ended otherwise than paused (retried, parked): its probe slot frees. */
  ended (registration: string): void {
    this.probesInFlight.delete(registration)
  }

  /** Pauses a registration; true when it was not paused or probing before (worth one log line). */
  pause (registration: string, pause: Pause): boolean {
    const fresh = !this.paused.has(registration) && !this.probing.has(registration)
    this.probesInFlight.delete(registration)
    this.probing.delete(registration)
    const current = this.paused.get(registration)
    if (current === undefined || current.until < pause.until) this.paused.set(registration, pause)
    return fresh
  }

  /** When this registration's pause ends, if it is paused now. */
  pausedUntil (registration: string, now: number): number | undefined {
    const pause = this.paused.get(registration)
    return pause !== undefined && pause.until > now ? pause.until : undefined
  }

  /** Paused and probing registrations, for metrics and `/health`. */
  snapshot (now: number): Array<{ registration: string; state: 'paused' | 'probing'; until?: number; reason?: string }> {
    return [
      ...[...this.paused].filter(([, p]) => p.until > now).map(([registration, p]) => ({ registration, state: 'paused' as const, until: p.until, reason: p.reason })),
      ...[...this.probing].map((registration) => ({ registration, state: 'probing' as const }))
    ]
  }
}
