import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Compares two secrets in constant time whatever their lengths: both sides are hashed
 * to 32 bytes first, so neither the length nor the first differing byte leaks.
 */
export function secretsEqual (given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}
