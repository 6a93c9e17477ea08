import type { MessageRow } from './stored-records.js'

/**
 * A claim of the relay: one row per outgoing request (table `claims`), not a lease written on
 * every message. Its messages stay `queued` in their own rows; the claim holds their ids (those
 * not yet settled) with each one's attempt count before the claim, its owner and its lease's end,
 * and the segments of the due order (registration, due time, id) it took: a claim takes its
 * registration's due messages earliest first, passing over the segments of its live claims, so a
 * claim is one written row for up to a thousand messages, and each message is written once more,
 * when its answer settles it. (A message stored later with a due time inside a live claim's
 * segment waits for that claim to end: at most one request, or its lease.)
 *
 * The rules every SQL adapter shares are here: which settlement items hold (fencing), what a claim
 * keeps after a settlement, and how claimed messages read (`sending`) to an operator.
 */
export interface ClaimMembers {
  claimId: number
  /** Its messages not yet settled. */
  ids: number[]
  /** Each one's attempt count before the claim (the claim's attempt is one more). */
  attempts: number[]
}

/** A claim as the inspection role shows it: its members, its owner, its lease's end. */
export interface ClaimLease extends ClaimMembers {
  owner: string
  leaseUntil: number
}

/** A settlement item with the database's id; without `attempt`, one that needs no claim (a failure of a queued message). */
export interface SettlementItem {
  dbId: number
  attempt?: number
}

/** What a settlement does: the items that hold, and what each claim it touched keeps (no ids left: the claim ends). */
export interface ClaimSettlement<T> {
  items: T[]
  claims: ClaimMembers[]
}

/**
 * Settles `items` against the claims that may hold their messages, as if applied one by one: an
 * item with an attempt holds only when its message is a member of a claim made at that attempt (a
 * claim that ended, or was taken over and claimed again, holds no members: a late answer changes
 * nothing); of the items naming one message, the first that holds wins. An item without an
 * attempt holds on its own (its statement checks the message's state) and ends the message's
 * membership too. The claims come back with the members they keep.
 */
export function settleUnderClaims<T extends SettlementItem> (claims: readonly ClaimMembers[], items: readonly T[]): ClaimSettlement<T> {
  const members = new Map<number, { claim: number; attempts: number }>()
  claims.forEach((c, claim) => c.ids.forEach((id, i) => members.set(id, { claim, attempts: c.attempts[i]! })))
  const settled = new Set<number>()
  const holding: T[] = []
  const touched = new Set<number>()
  for (const item of items) {
    if (settled.has(item.dbId)) continue
    const member = members.get(item.dbId)
    if (item.attempt !== undefined && (member === undefined || member.attempts !== item.attempt - 1)) continue
    settled.add(item.dbId)
    holding.push(item)
    if (member !== undefined) touched.add(member.claim)
  }
  return {
    items: holding,
    claims: [...touched].map((claim) => {
      const c = claims[claim]!
      const kept = c.ids.flatMap((id, i) => settled.has(id) ? [] : [i])
      return { claimId: c.claimId, ids: kept.map((i) => c.ids[i]!), attempts: kept.map((i) => c.attempts[i]!) }
    })
  }
}

/**
 * Message rows as an operator reads them: a queued message held by a claim (its attempt count
 * unchanged since) is `sending`, with the claim's attempt, owner and lease's end (when it is due
 * again if its answer never comes).
 */
export function withClaimsShown (rows: MessageRow[], claims: readonly ClaimLease[]): MessageRow[] {
  const held = new Map<number, { claim: ClaimLease; attempts: number }>()
  for (const claim of claims) claim.ids.forEach((id, i) => held.set(id, { claim, attempts: claim.attempts[i]! }))
  return rows.map((row) => {
    const h = held.get(row.id)
    if (h === undefined || row.state !== 'queued' || row.attempts !== h.attempts) return row
    return { ...row, state: 'sending', attempts: row.attempts + 1, next_attempt_at: h.claim.leaseUntil, lease_until: h.claim.leaseUntil, lease_owner: h.claim.owner }
  })
}

/** A stretch of a registration's due order, from (due time, id) to (due time, id), both included. */
export type Segment = [fromAt: number, fromId: number, toAt: number, toId: number]

/** The segments stored with claims (their `segments` column, JSON), all together. */
export function segmentsOf (claims: ReadonlyArray<{ segments: string }>): Segment[] {
  return claims.flatMap((claim) => JSON.parse(claim.segments) as Segment[])
}

/** A place in the due order: (due time, id). */
export type DueKey = readonly [at: number, id: number]

/** A stretch of the due order between two keys, both left out: where a claim looks. */
export interface Gap {
  after: DueKey
  before: DueKey
}

const FIRST_KEY: DueKey = [Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]
const LAST_KEY: DueKey = [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]

/**
 * The gaps of the due order between the live claims' segments (which never overlap), earliest
 * first: a claim reads them one after another, each an index range of its own, so that it never
 * steps over a claimed message, however many are in flight.
 */
export function gapsBetween (live: readonly Segment[]): Gap[] {
  const sorted = [...live].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const gaps: Gap[] = []
  let after = FIRST_KEY
  for (const [fromAt, fromId, toAt, toId] of sorted) {
    gaps.push({ after, before: [fromAt, fromId] })
    after = [toAt, toId]
  }
  gaps.push({ after, before: LAST_KEY })
  return gaps
}

/** One index range of a gap: at one due time between two ids, or strictly between two due times. */
export type GapRange = { at: number; afterId: number; beforeId: number } | { afterAt: number; beforeAt: number }

/**
 * A gap as index ranges whose both ends an index seek can use (a B-tree seeks a (due time, id)
 * key's second part only under an equal first part): at its first due time after its first id,
 * strictly between its due times, at its last due time before its last id; in due order.
 */
export function gapRanges ({ after: [afterAt, afterId], before: [beforeAt, beforeId] }: Gap): GapRange[] {
  if (afterAt === beforeAt) return [{ at: afterAt, afterId, beforeId }]
  return [
    { at: afterAt, afterId, beforeId: LAST_KEY[1] },
    ...(beforeAt - afterAt > 1 ? [{ afterAt, beforeAt }] : []),
    { at: beforeAt, afterId: FIRST_KEY[1], beforeId }
  ]
}

/**
 * The segments a claim took: the messages it found in each gap (`gap`: the gap's place in
 * `gapsBetween`), in due order, make one segment, from the first to the last.
 */
export function segmentsTaken (rows: ReadonlyArray<{ at: number; id: number; gap: number }>): Segment[] {
  const segments: Segment[] = []
  let gap: number | undefined
  for (const row of rows) {
    if (row.gap !== gap) segments.push([row.at, row.id, row.at, row.id])
    else Object.assign(segments.at(-1)!, { 2: row.at, 3: row.id })
    gap = row.gap
  }
  return segments
}

/** The span of a claim's ids, by which a settlement finds the claims that may hold its messages. */
export function idSpan (ids: readonly number[]): { first: number; last: number } {
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (const id of ids) {
    if (id < first) first = id
    if (id > last) last = id
  }
  return { first, last }
}
