import t from 'tap'
import {
  hmacSha256Hex,
  signGatewaySignature,
  signHubSignature,
  verifyGatewaySignature,
  verifyHubSignature,
  type SignatureCheck
} from '../../src/lib/hmac-signature.js'

// Known-answer vectors, computed independently of the module under test.
const OPTIMOVE_SECRET = 'test-shared-secret'
const HANDSHAKE_BODY = '{"aggregatorApiKey":"agg-key-123","campaignSendUrl":"https://sms.example.com/optimove/campaigns"}'
const HANDSHAKE_SIGNATURE = 'sha256=7297c06e86214865539a1ab79b35e1f80601cb00396e66fc5a57295756b76604'
const INCOMING_BODY = '{"messages":[{"to":"companyAbc","from":"44123456789","message":"stop","sentAt":"2015-12-25T10:30:00"}]}'
const INCOMING_SIGNATURE = 'sha256=678b61d6f3b61eff38d17733a13c1b26d85460eacbe1941b9a4e98c4399e31bf'

const GATEWAY_SECRET = 'test-secret'
const WEBHOOK_BODY = '{"event_id":"09c829a2-a77b-422d-8562-2f88e784dfb5","timestamp":"2025-04-01T11:50:12.003029+00:00","event_type":"message.status.sms","event":{"msg_id":"01JQRJWK259Y1YEECJZB50908V","recipient":4512345678,"reference":null,"status":"DELIVERED","status_at":"2025-04-01T11:49:12.005021+00:00","error":null}}'
const WEBHOOK_SIGNATURE = 'v1=bf021fd3bfb6d2702318a65f180c18e88ae608cd9fd406d95c7ecada6edd1b81'

type Verify = (header: string | string[] | undefined, body: Buffer, secret: string) => SignatureCheck

interface Flavour {
  name: string
  verify: Verify
  scheme: string
  /** A scheme that is not this verifier's. */
  otherSchemes: string[]
  secret: string
  body: Buffer
  signature: string
}

const flavours: Flavour[] = [
  {
    name: 'verifyHubSignature (Optimove, sha256=)',
    verify: verifyHubSignature,
    scheme: 'sha256',
    otherSchemes: ['sha1', 'sha512', 'v1'],
    secret: OPTIMOVE_SECRET,
    body: Buffer.from(HANDSHAKE_BODY),
    signature: HANDSHAKE_SIGNATURE
  },
  {
    name: 'verifyGatewaySignature (GatewayAPI, v1=)',
    verify: verifyGatewaySignature,
    scheme: 'v1',
    otherSchemes: ['v2', 'v0', 'sha256'],
    secret: GATEWAY_SECRET,
    body: Buffer.from(WEBHOOK_BODY),
    signature: WEBHOOK_SIGNATURE
  }
]

/** The hex part of a `<scheme>=<hex>` signature. */
const hexOf = (signature: string): string => signature.slice(signature.indexOf('=') + 1)

/** Flips one hex digit, so the signature is well-formed but wrong. */
const corruptHex = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1)

t.test('known-answer vectors: signing', async (t) => {
  t.equal(signHubSignature(HANDSHAKE_BODY, OPTIMOVE_SECRET), HANDSHAKE_SIGNATURE, 'Optimove handshake body')
  t.equal(signHubSignature(INCOMING_BODY, OPTIMOVE_SECRET), INCOMING_SIGNATURE, 'Optimove incoming-message body')
  t.equal(signGatewaySignature(WEBHOOK_BODY, GATEWAY_SECRET), WEBHOOK_SIGNATURE, 'GatewayAPI webhook body')

  // A Buffer and a string of the same bytes sign the same.
  t.equal(signHubSignature(Buffer.from(HANDSHAKE_BODY), OPTIMOVE_SECRET), HANDSHAKE_SIGNATURE, 'Buffer body signs like its string')
  t.equal(signGatewaySignature(Buffer.from(WEBHOOK_BODY), GATEWAY_SECRET), WEBHOOK_SIGNATURE, 'Buffer body signs like its string')
  t.equal(hmacSha256Hex(GATEWAY_SECRET, WEBHOOK_BODY), hexOf(WEBHOOK_SIGNATURE), 'raw hex is the signature without its scheme')

  // The body is signed byte-exact: a trailing newline is a different body.
  t.not(signGatewaySignature(`${WEBHOOK_BODY}\n`, GATEWAY_SECRET), WEBHOOK_SIGNATURE, 'a trailing newline changes the signature')
})

t.test('known-answer vectors: verifying', async (t) => {
  t.same(verifyHubSignature(HANDSHAKE_SIGNATURE, Buffer.from(HANDSHAKE_BODY), OPTIMOVE_SECRET), { ok: true })
  t.same(verifyHubSignature(INCOMING_SIGNATURE, Buffer.from(INCOMING_BODY), OPTIMOVE_SECRET), { ok: true })
  t.same(verifyGatewaySignature(WEBHOOK_SIGNATURE, Buffer.from(WEBHOOK_BODY), GATEWAY_SECRET), { ok: true })

  // Each vector's signature belongs to its own body and secret only.
  t.same(verifyHubSignature(HANDSHAKE_SIGNATURE, Buffer.from(INCOMING_BODY), OPTIMOVE_SECRET), { ok: false, reason: 'mismatch' }, 'signature of another body')
  t.same(verifyHubSignature(HANDSHAKE_SIGNATURE, Buffer.from(HANDSHAKE_BODY), GATEWAY_SECRET), { ok: false, reason: 'mismatch' }, 'another secret')
  t.same(verifyGatewaySignature(WEBHOOK_SIGNATURE, Buffer.from(WEBHOOK_BODY), OPTIMOVE_SECRET), { ok: false, reason: 'mismatch' }, 'another secret')
})

t.test('sign and verify round-trip over arbitrary bytes', async (t) => {
  const body = Buffer.from([0x00, 0xff, 0x7b, 0x22, 0xe2, 0x82, 0xac, 0x0a])
  t.same(verifyHubSignature(signHubSignature(body, 'k'), body, 'k'), { ok: true })
  t.same(verifyGatewaySignature(signGatewaySignature(body, 'k'), body, 'k'), { ok: true })
  // The two schemes are not interchangeable, even over the same HMAC.
  t.same(verifyGatewaySignature(signHubSignature(body, 'k'), body, 'k'), { ok: false, reason: 'malformed-header' })
  t.same(verifyHubSignature(signGatewaySignature(body, 'k'), body, 'k'), { ok: false, reason: 'malformed-header' })
})

for (const f of flavours) {
  t.test(f.name, async (t) => {
    const hex = hexOf(f.signature)
    const wrong = `${f.scheme}=${corruptHex(hex)}`

    t.test('accepts the right signature', async (t) => {
      t.same(f.verify(f.signature, f.body, f.secret), { ok: true })
    })

    t.test('an entry without a scheme name is malformed', async (t) => {
      const hex = f.signature.slice(f.signature.indexOf('=') + 1)
      t.same(f.verify(`=${hex}`, f.body, f.secret), { ok: false, reason: 'malformed-header' })
      t.same(f.verify(`=${hex},${f.signature}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'even beside a valid entry')
    })

    t.test('missing header', async (t) => {
      t.same(f.verify(undefined, f.body, f.secret), { ok: false, reason: 'missing-header' }, 'undefined')
      t.same(f.verify('', f.body, f.secret), { ok: false, reason: 'missing-header' }, 'empty string')
    })

    t.test('wrong prefix or algorithm', async (t) => {
      for (const other of f.otherSchemes) {
        // The right HMAC under another scheme name is still refused.
        t.same(f.verify(`${other}=${hex}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, `${other}=<right hex>`)
      }
      t.same(f.verify(hex, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'bare hex without a scheme')
      t.same(f.verify(`=${hex}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'empty scheme name')
      t.same(f.verify(`${f.scheme}:${hex}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'wrong separator')
    })

    t.test('truncated hex', async (t) => {
      t.same(f.verify(`${f.scheme}=${hex.slice(0, 63)}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, '63 digits')
      t.same(f.verify(`${f.scheme}=${hex.slice(0, 32)}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, '32 digits')
      t.same(f.verify(`${f.scheme}=`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'no digits')
      t.same(f.verify(`${f.scheme}=${hex}0`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, '65 digits')
    })

    t.test('non-hex characters of the right length', async (t) => {
      const nonHex = `g${hex.slice(1)}`
      t.equal(nonHex.length, 64)
      t.same(f.verify(`${f.scheme}=${nonHex}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'a "g"')
      const withSpace = `${hex.slice(0, 30)} ${hex.slice(31)}`
      t.equal(withSpace.length, 64)
      t.same(f.verify(`${f.scheme}=${withSpace}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'an inner space')
      // Base64 of the same digest is a different encoding, not accepted.
      const b64 = Buffer.from(hex, 'hex').toString('base64')
      t.same(f.verify(`${f.scheme}=${b64}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'base64 digest')
    })

    t.test('uppercase hex and scheme are accepted', async (t) => {
      t.same(f.verify(`${f.scheme}=${hex.toUpperCase()}`, f.body, f.secret), { ok: true }, 'uppercase hex')
      t.same(f.verify(`${f.scheme.toUpperCase()}=${hex}`, f.body, f.secret), { ok: true }, 'uppercase scheme')
      t.same(f.verify(`${f.scheme}=${corruptHex(hex).toUpperCase()}`, f.body, f.secret), { ok: false, reason: 'mismatch' }, 'uppercase but wrong')
    })

    t.test('empty secret', async (t) => {
      t.same(f.verify(f.signature, f.body, ''), { ok: false, reason: 'missing-secret' }, 'with a signature')
      // A signature made with the empty key must not pass either.
      t.same(f.verify(`${f.scheme}=${hmacSha256Hex('', f.body)}`, f.body, ''), { ok: false, reason: 'missing-secret' }, 'with an empty-key signature')
      t.same(f.verify(undefined, f.body, ''), { ok: false, reason: 'missing-secret' }, 'and no header')
    })

    t.test('a list of several signatures', async (t) => {
      t.same(f.verify(`${wrong},${f.signature}`, f.body, f.secret), { ok: true }, '<wrong>,<right>')
      t.same(f.verify(`${f.signature},${wrong}`, f.body, f.secret), { ok: true }, '<right>,<wrong>')
      t.same(f.verify(`${wrong}, ${f.signature}`, f.body, f.secret), { ok: true }, 'space after the comma')
      const wrong2 = `${f.scheme}=${'ab'.repeat(32)}`
      t.same(f.verify(`${wrong},${wrong2}`, f.body, f.secret), { ok: false, reason: 'mismatch' }, 'all wrong')
      // Another scheme's entry is tolerated only alongside one of ours.
      const other = f.otherSchemes[0]!
      t.same(f.verify(`${other}=${'cd'.repeat(32)},${f.signature}`, f.body, f.secret), { ok: true }, 'foreign entry beside ours')
      t.same(f.verify(`${other}=${'cd'.repeat(32)},${wrong}`, f.body, f.secret), { ok: false, reason: 'mismatch' }, 'foreign entry beside a wrong one')
      // One malformed entry of our scheme spoils the list, even next to a right one.
      t.same(f.verify(`${f.scheme}=xyz,${f.signature}`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'malformed entry beside the right one')
      t.same(f.verify(`${f.signature},garbage`, f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'entry without "="')
    })

    t.test('a body changed by one byte', async (t) => {
      const last = f.body.length - 1
      const changed = Buffer.from(f.body)
      changed[last] = changed[last]! ^ 0x01
      t.same(f.verify(f.signature, changed, f.secret), { ok: false, reason: 'mismatch' }, 'last byte flipped')
      const first = Buffer.from(f.body)
      first[0] = 0x20
      t.same(f.verify(f.signature, first, f.secret), { ok: false, reason: 'mismatch' }, 'first byte replaced')
      t.same(f.verify(f.signature, Buffer.concat([f.body, Buffer.from('\n')]), f.secret), { ok: false, reason: 'mismatch' }, 'one byte appended')
      t.same(f.verify(f.signature, f.body.subarray(0, last), f.secret), { ok: false, reason: 'mismatch' }, 'one byte removed')
      // And the untouched body still verifies: the buffers above were copies.
      t.same(f.verify(f.signature, f.body, f.secret), { ok: true })
    })

    t.test('a one-digit change in the signature', async (t) => {
      t.same(f.verify(wrong, f.body, f.secret), { ok: false, reason: 'mismatch' })
    })

    t.test('header given as an array', async (t) => {
      // Node gives a repeated header as an array; it is refused, even if it holds the right value.
      t.same(f.verify([f.signature], f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'one element')
      t.same(f.verify([f.signature, f.signature], f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'two elements')
      t.same(f.verify([wrong, f.signature], f.body, f.secret), { ok: false, reason: 'malformed-header' }, 'wrong and right')
    })
  })
}
