/**
 * Whether the dispatcher sends, as operators see it in `/health` and `/ready`:
 * - `ok`: sending (or nothing to send).
 * - `halted`: the provider refused our credentials or our configuration; the queue waits
 *   intact and one request is tried at `nextProbeAt` to see whether it works again.
 * - `paused`: the provider asked us to slow down (`throttled`), or the account has no credit
 *   left (`no-credit`); sending resumes at `until` by itself.
 */
export type SendingStatus =
  | { state: 'ok' }
  | { state: 'halted'; reason: string; since: number; nextProbeAt: number }
  | { state: 'paused'; cause: 'throttled' | 'no-credit'; until: number }

export const SENDING_OK: SendingStatus = { state: 'ok' }

/** One line for `/health`: `ok`, `halted: <why>; next try at <time>` or `paused until <time>: <why>`. */
export function describeSending (status: SendingStatus): string {
  switch (status.state) {
    case 'ok':
      return 'ok'
    case 'halted':
      return `halted: ${status.reason}; next try at ${new Date(status.nextProbeAt).toISOString()}`
    case 'paused':
      return `paused until ${new Date(status.until).toISOString()}: ${status.cause === 'no-credit' ? 'the GatewayAPI account has no credit left' : 'GatewayAPI asked us to slow down'}`
  }
}
