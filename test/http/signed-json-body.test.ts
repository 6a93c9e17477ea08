import t from 'tap'
import { signedJsonBody } from '../../src/http/signed-json-body.js'
import { signGatewaySignature, verifyGatewaySignature } from '../../src/lib/hmac-signature.js'

// The step both webhooks share: the signature over the exact bytes first, JSON only after it.

const SECRET = 'webhook-secret'
const verify = (header: string | undefined) => (raw: Buffer) => verifyGatewaySignature(header, raw, SECRET)

t.test('a signed JSON body: the exact bytes and what they parse to', async (t) => {
  const raw = Buffer.from('{"event_id":"e1","n":[1,2]}')
  const seen: Buffer[] = []
  const body = signedJsonBody(raw, (bytes) => { seen.push(bytes); return verify(signGatewaySignature(raw, SECRET))(bytes) })
  t.same(body, { ok: true, raw, json: { event_id: 'e1', n: [1, 2] } })
  t.equal(seen[0], raw, 'the signature was checked over the very bytes received')
})

t.test('a bad signature stops the body before it is parsed: not JSON, and still a signature refusal', async (t) => {
  t.same(signedJsonBody(Buffer.from('not json at all'), verify('v1=00')), { ok: false, problem: 'signature', reason: 'malformed-header' })
  const raw = Buffer.from('{"a":1}')
  const other = signGatewaySignature(Buffer.from('{"a":2}'), SECRET)
  t.same(signedJsonBody(raw, verify(other)), { ok: false, problem: 'signature', reason: 'mismatch' })
})

t.test('a signed body that is not JSON, and no body at all', async (t) => {
  const raw = Buffer.from('{"a":')
  t.same(signedJsonBody(raw, verify(signGatewaySignature(raw, SECRET))), { ok: false, problem: 'not-json' })
  let asked = false
  t.same(signedJsonBody(undefined, () => { asked = true; return { ok: true } }), { ok: false, problem: 'no-body' })
  t.same(signedJsonBody('{"a":1}', () => { asked = true; return { ok: true } }), { ok: false, problem: 'no-body' }, 'a string is not the raw bytes')
  t.notOk(asked, 'nothing to verify without the bytes')
})
