import type { EraseResult, MessageState, OutboxState } from './store.js'
import type { ClaimMembers } from './request-claims.js'

// What the SQL adapters share of the operator's role (store.ts, OperatorStore): which messages a
// claim holds, how counts by state read, and the words an operator's action leaves in a row.

/** Why a message ended `cancelled` by `cancelBatch`. */
export const CANCELLED_BY_OPERATOR = 'cancelled by an operator before it was sent'
/** Why a message ended `cancelled` when its number was erased before it was sent. */
export const CANCELLED_BY_ERASURE = 'not sent: its number was erased'

/** What an erasure of a number stored nowhere changes. */
export const NOTHING_ERASED: Readonly<EraseResult> = Object.freeze({ messages: 0, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 })

/** A message held by a claim (its request may be on the wire): its id is a member at its current attempt count. */
export function heldByClaims (claims: readonly ClaimMembers[]): (id: number, attempts: number) => boolean {
  const held = new Map<number, number>()
  for (const c of claims) c.ids.forEach((id, i) => held.set(id, c.attempts[i]!))
  return (id, attempts) => held.get(id) === attempts
}

export function messageCounts (): Record<MessageState, number> {
  return { queued: 0, sending: 0, submitted: 0, final: 0, failed: 0 }
}

export function outboxCounts (): Record<OutboxState, number> {
  return { pending: 0, sending: 0, done: 0, parked: 0 }
}

/** Messages counted by state as an operator reads them: a queued one a claim holds is `sending`. */
export function countMessages (rows: ReadonlyArray<{ id: number; state: MessageState; attempts: number }>, held: (id: number, attempts: number) => boolean): Record<MessageState, number> {
  const counts = messageCounts()
  for (const row of rows) counts[row.state === 'queued' && held(row.id, row.attempts) ? 'sending' : row.state]++
  return counts
}

/** Which of a batch's messages a cancel ends (queued, no claim holding them), which it leaves in flight, which were done. */
export function cancellable (rows: ReadonlyArray<{ id: number; state: MessageState; attempts: number }>, held: (id: number, attempts: number) => boolean): { ids: number[]; inFlight: number; alreadyDone: number } {
  const ids: number[] = []
  let inFlight = 0
  for (const row of rows) {
    if (row.state !== 'queued') continue
    if (held(row.id, row.attempts)) inFlight++
    else ids.push(row.id)
  }
  return { ids, inFlight, alreadyDone: rows.length - ids.length - inFlight }
}

