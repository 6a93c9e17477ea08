/**
 * Whether the dispatcher sends, as operators see it in `/health` and `/ready`:
 * - `ok`: sending (or nothing to send).
 * - `halted`: the provider refused our credentials or our configuration; the queue waits
 *   intact and one request is tried at `nextProbeAt` to see whether it works again.
 * - `paused`: the provider asked us to slow down (`throttled`), or the account has no credit
 *   left (`no-credit`); sending resumes at `until` by itself.
 * With several provider accounts, `account` names the one that stopped (the others send on).
 */
export type SendingStatus =
  | { state: 'ok' }
  | { state: 'halted'; reason: string; since: number; nextProbeAt: number; account?: string }
  | { state: 'paused'; cause: 'throttled' | 'no-credit'; until: number; account?: string }

export const SENDING_OK: SendingStatus = { state: 'ok' }

/** One line for `/health`: `ok`, `halted: <why>; next try at <time>` or `paused until <time>: <why>`, after the account's name when there are several. */
export function describeSending (status: SendingStatus): string {
  if (status.state === 'ok') return 'ok'
  const account = status.account === undefined ? '' : `GatewayAPI account ${status.account}: `
  if (status.state === 'halted') return `${account}halted: ${status.reason}; next try at ${new Date(status.nextProbeAt).toISOString()}`
  return `${account}paused until ${new Date(status.until).toISOString()}: ${status.cause === 'no-credit' ? 'the GatewayAPI account has no credit left' : 'GatewayAPI asked us to slow down'}`
}
