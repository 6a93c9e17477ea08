import { createHmac, timingSafeEqual } from 'node:crypto'

/** Why a signature header was refused; stable codes for logs and metrics. */
export type SignatureFailure =
  | 'missing-secret'
  | 'missing-header'
  | 'malformed-header'
  | 'mismatch'

export type SignatureCheck = { ok: true } | { ok: false; reason: SignatureFailure }

const HEX_SHA256 = /^[0-9a-f]{64}$/

/** Lowercase hex HMAC-SHA256 of the exact bytes, keyed with the UTF-8 secret. */
export function hmacSha256Hex (secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

/**
 * Verifies a `<scheme>=<hex>` header (or a comma-separated list of them, so that a
 * secret can rotate) over the raw body. The header's form is checked before any
 * comparison, and the comparison is constant-time over equal-length buffers.
 */
export function verifySchemeSignature (
  scheme: string,
  header: string | string[] | undefined,
  body: Buffer,
  secret: string
): SignatureCheck {
  if (secret.length === 0) return { ok: false, reason: 'missing-secret' }
  if (header === undefined || header === '') return { ok: false, reason: 'missing-header' }
  if (Array.isArray(header)) return { ok: false, reason: 'malformed-header' }

  const candidates: Buffer[] = []
  for (const part of header.split(',')) {
    const entry = part.trim()
    const eq = entry.indexOf('=')
    if (eq <= 0) return { ok: false, reason: 'malformed-header' }
    const name = entry.slice(0, eq).toLowerCase()
    const hex = entry.slice(eq + 1).toLowerCase()
    // An entry of another scheme is tolerated only alongside one of ours.
    if (name !== scheme) continue
    if (!HEX_SHA256.test(hex)) return { ok: false, reason: 'malformed-header' }
    candidates.push(Buffer.from(hex, 'hex'))
  }
  if (candidates.length === 0) return { ok: false, reason: 'malformed-header' }

  const expected = createHmac('sha256', secret).update(body).digest()
  let matched = false
  // Every candidate is compared, so the time taken does not tell which one matched.
  for (const candidate of candidates) {
    if (timingSafeEqual(candidate, expected)) matched = true
  }
  return matched ? { ok: true } : { ok: false, reason: 'mismatch' }
}

/** Optimove's `x-hub-signature: sha256=<hex>` for an outgoing body. */
export function signHubSignature (body: Buffer | string, secret: string): string {
  return `sha256=${hmacSha256Hex(secret, body)}`
}

/** Verifies Optimove's `x-hub-signature: sha256=<hex>` over the raw body. */
export function verifyHubSignature (header: string | string[] | undefined, body: Buffer, secret: string): SignatureCheck {
  return verifySchemeSignature('sha256', header, body, secret)
}

/** GatewayAPI's `Signature: v1=<hex>` for a body (used by the simulated GatewayAPI). */
export function signGatewaySignature (body: Buffer | string, secret: string): string {
  return `v1=${hmacSha256Hex(secret, body)}`
}

/** Verifies GatewayAPI's `Signature: v1=<hex>[,v1=<hex>…]` over the raw body. */
export function verifyGatewaySignature (header: string | string[] | undefined, body: Buffer, secret: string): SignatureCheck {
  return verifySchemeSignature('v1', header, body, secret)
}
