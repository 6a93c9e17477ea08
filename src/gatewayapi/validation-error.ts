/**
 * Which messages a FastAPI-shaped 422 blames: `detail[].loc` is
 * `["body","messages",<index>,<field>]` for `/mobile/multi` and `["body",<field>]` for
 * `/mobile/single`. Returns reasons by index; empty when no item can be singled out.
 */
export function invalidItemsOf (body: unknown, single: boolean): Map<number, string> {
  const blamed = new Map<number, string>()
  const detail = (body as { detail?: unknown } | null)?.detail
  if (!Array.isArray(detail)) return blamed
  for (const entry of detail) {
    const loc = (entry as { loc?: unknown })?.loc
    const msg = String((entry as { msg?: unknown })?.msg ?? 'invalid')
    if (!Array.isArray(loc) || loc[0] !== 'body') continue
    const index = single ? (loc.length > 1 ? 0 : undefined) : (loc[1] === 'messages' && typeof loc[2] === 'number' ? loc[2] : undefined)
    if (index === undefined) continue
    const field = loc.slice(single ? 1 : 3).join('.')
    const reason = field === '' ? msg : `${field}: ${msg}`
    blamed.set(index, blamed.has(index) ? `${blamed.get(index)}; ${reason}` : reason)
  }
  return blamed
}
