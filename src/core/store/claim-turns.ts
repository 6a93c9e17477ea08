import type { ClaimScope } from './store.js'

/**
 * The registrations a claim may serve, in the order it tries them (see `RelayStore.claimDue`):
 * of those with due messages, the ones after `scope.after` in id order, then the others from the
 * first, so that each registration with due work has its turn; those capped at 0 are left out.
 */
export function claimTurns (due: Iterable<string>, scope: ClaimScope = {}): string[] {
  const open = [...new Set(due)].filter((r) => scope.caps?.[r] !== 0 && (scope.only === undefined || scope.only.includes(r))).sort(byId)
  const after = scope.after
  if (after === undefined) return open
  const next = open.findIndex((r) => byId(r, after) > 0)
  return next <= 0 ? open : [...open.slice(next), ...open.slice(0, next)]
}

/** Whether `nextDueAt` counts a registration's messages: not `excluded`, and in `only` when that is given. */
export function servedBy (registration: string, excluded: readonly string[], only: readonly string[] | undefined): boolean {
  return !excluded.includes(registration) && (only === undefined || only.includes(registration))
}

/** How many messages a claim of `limit` may take of a registration: its cap when lower. */
export function claimLimit (registrationId: string, limit: number, scope: ClaimScope = {}): number {
  const cap = scope.caps?.[registrationId]
  return cap === undefined ? limit : Math.max(0, Math.min(limit, Math.floor(cap)))
}

/** Registration ids in one order on every adapter, whatever the database's collation: by UTF-16 code unit. */
function byId (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
