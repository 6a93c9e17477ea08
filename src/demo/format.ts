/** 12345 → "12,345", whatever the machine's locale. */
export function count (n: number): string {
  return n.toLocaleString('en-US')
}

/** Milliseconds for people: "850 ms", "2.31 s", "1 min 05 s". */
export function duration (ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
}
