import { verifySchemeSignature, type SignatureCheck } from './hmac-signature.js'

const NO_BODY = Buffer.alloc(0)

/**
 * Checks a `<scheme>=<hex>` signature header's presence and form before the body has
 * arrived, with exactly the rules of the full check: a form it accepts is one that could
 * match some body (only a mismatch remains possible), so the full check over the raw body
 * must still follow.
 */
export function checkSignatureForm (scheme: string, header: string | string[] | undefined, secret: string): SignatureCheck {
  const check = verifySchemeSignature(scheme, header, NO_BODY, secret)
  return check.ok || check.reason === 'mismatch' ? { ok: true } : check
}
