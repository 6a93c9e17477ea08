import type { SignatureCheck, SignatureFailure } from '../lib/hmac-signature.js'

/** A webhook's body after the step both webhooks share, or why it stopped there. */
export type SignedJsonBody =
  | { ok: true; raw: Buffer; json: unknown }
  /** No body came (a JSON route always receives bytes; anything else is a client error). */
  | { ok: false; problem: 'no-body' }
  | { ok: false; problem: 'signature'; reason: SignatureFailure }
  | { ok: false; problem: 'not-json' }

/**
 * The signature is checked over the exact bytes received, and only then is the body parsed as
 * JSON: an unsigned caller never reaches the parser. `verify` checks the route's own scheme.
 */
export function signedJsonBody (body: unknown, verify: (raw: Buffer) => SignatureCheck): SignedJsonBody {
  if (!Buffer.isBuffer(body)) return { ok: false, problem: 'no-body' }
  const signature = verify(body)
  if (!signature.ok) return { ok: false, problem: 'signature', reason: signature.reason }
  try {
    return { ok: true, raw: body, json: JSON.parse(body.toString('utf8')) }
  } catch {
    return { ok: false, problem: 'not-json' }
  }
}
