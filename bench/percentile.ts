/** The p-th percentile of some latencies (nearest rank), to a tenth of a millisecond. */
export function percentile (latencies: readonly number[], p: number): number {
  const sorted = [...latencies].sort((a, b) => a - b)
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 10) / 10
}
