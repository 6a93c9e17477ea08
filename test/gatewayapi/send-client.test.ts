import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Socket } from 'node:net'
import t from 'tap'
import type { Test } from 'tap'
import { request } from 'undici'
import { createGatewayApiClient, GATEWAYAPI_RESPONSE_LIMIT_BYTES, NOT_SENT_ERRORS, type GatewayApiClientOptions } from '../../src/gatewayapi/send-client.js'
import type { OutgoingMessage, SendOutcome } from '../../src/core/message-sender.js'
import { apiErrorBody } from '../../src/sim/gatewayapi.js'
import { simGatewayApi, testEnv } from '../helper.js'

const TOKEN = testEnv().GATEWAYAPI_TOKEN!
const SENDER = 'Brand'
const ULID_LIKE = /^[0-9A-HJKMNP-TV-Z]{26}$/

function messages (n: number, first = 0): OutgoingMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    reference: `ref-${first + i}`,
    senderId: SENDER,
    msisdn: String(4520000000 + first + i),
    text: `Hello ${first + i}, 20% off until Sunday. Reply STOP to opt out.`
  }))
}

function clientFor (t: Test, baseUrl: string, options: Partial<GatewayApiClientOptions> = {}) {
  const client = createGatewayApiClient({ baseUrl, token: TOKEN, connections: 2, connectTimeoutMs: 1000, requestTimeoutMs: 2000, ...options })
  t.teardown(() => client.close())
  return client
}

/** A started simulated GatewayAPI and a client for it, both closed at teardown (client first); `check` as simGatewayApi's. */
async function setup (t: Test, options: Partial<GatewayApiClientOptions> = {}, check: { contract?: boolean } = {}) {
  const sim = await simGatewayApi(t, { token: TOKEN }, check).start()
  t.teardown(() => sim.close())
  const client = clientFor(t, sim.url, options)
  /** Headers of every request the sim received, in order. */
  const requests: Array<{ method?: string; url?: string; headers: IncomingMessage['headers'] }> = []
  sim['server']!.server.on('request', (req: IncomingMessage) => requests.push({ method: req.method, url: req.url, headers: req.headers }))
  return { sim, client, requests }
}

/** Asserts a network-error outcome: its kind and ambiguity exactly, its reason by pattern. */
function assertTransient (t: Test, outcome: SendOutcome, ambiguous: boolean, reason: RegExp): void {
  t.equal(outcome.kind, 'transient')
  if (outcome.kind !== 'transient') return
  t.match(outcome.reason, reason)
  t.strictSame(outcome, { kind: 'transient', reason: outcome.reason, ambiguous })
}

t.test('202 from /mobile/multi: sent, with the provider ids keyed by our reference', async (t) => {
  const { sim, client, requests } = await setup(t)
  const batch = messages(3)
  const outcome = await client.send(batch)

  t.equal(sim.accepted.length, 3, 'GatewayAPI took all three')
  t.strictSame(outcome, { kind: 'sent', providerIds: new Map(sim.accepted.map((a) => [a.reference!, a.msg_id])) })
  if (outcome.kind !== 'sent') return
  t.strictSame([...outcome.providerIds.keys()].sort(), batch.map((m) => m.reference).sort())
  for (const m of batch) {
    const recorded = sim.accepted.find((a) => a.reference === m.reference)
    t.ok(recorded, `${m.reference} arrived`)
    t.equal(outcome.providerIds.get(m.reference), recorded?.msg_id, `${m.reference} maps to the msg_id GatewayAPI gave it`)
    t.match(outcome.providerIds.get(m.reference), ULID_LIKE, 'a 26-char ULID-like msg_id')
    t.equal(typeof recorded?.recipient, 'number', 'recipient sent as a JSON integer, as the OpenAPI schema requires')
    t.equal(recorded?.recipient, Number(m.msisdn))
    t.equal(recorded?.sender, SENDER)
    t.equal(recorded?.message, m.text)
  }

  t.strictSame(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 3]], 'one request, to which the token was accepted')
  t.equal(requests.length, 1)
  t.equal(requests[0]?.method, 'POST')
  t.equal(requests[0]?.url, '/mobile/multi')
  t.equal(requests[0]?.headers.authorization, `Token ${TOKEN}`)
  t.match(requests[0]?.headers['content-type'], /^application\/json/)
})

t.test('202 with the responses in another order: ids are matched by reference, never by position', async (t) => {
  const { sim, client } = await setup(t)
  const batch = messages(3)
  // GatewayAPI promises nothing about the order of `responses`; one without a msg_id gives null.
  sim.script({
    status: 202,
    body: {
      responses: [
        { msg_id: '01JQRJWK259Y1YEECJZB50908C', recipient: 4520000002, reference: 'ref-2' },
        { recipient: 4520000001, reference: 'ref-1' },
        { msg_id: '01JQRJWK259Y1YEECJZB50908A', recipient: 4520000000, reference: 'ref-0' }
      ]
    }
  })
  const outcome = await client.send(batch)
  t.strictSame(outcome, {
    kind: 'sent',
    providerIds: new Map<string, string | null>([
      ['ref-2', '01JQRJWK259Y1YEECJZB50908C'],
      ['ref-1', null],
      ['ref-0', '01JQRJWK259Y1YEECJZB50908A']
    ])
  })
})

t.test('202 for many messages: every reference maps to the msg_id recorded for it', async (t) => {
  const { sim, client } = await setup(t)
  const batch = messages(50, 100)
  const outcome = await client.send(batch)
  t.equal(outcome.kind, 'sent')
  if (outcome.kind !== 'sent') return
  t.equal(outcome.providerIds.size, 50)
  const recorded = new Map(sim.accepted.map((a) => [a.reference, a.msg_id]))
  t.equal(new Set(recorded.values()).size, 50, 'every message got its own id')
  for (const m of batch) t.equal(outcome.providerIds.get(m.reference), recorded.get(m.reference), m.reference)
})

t.test('one message goes to /mobile/single and is sent', async (t) => {
  const { sim, client, requests } = await setup(t)
  const [message] = messages(1, 7)
  const outcome = await client.send([message!])

  t.equal(sim.accepted.length, 1)
  const recorded = sim.accepted[0]!
  t.strictSame(outcome, { kind: 'sent', providerIds: new Map([['ref-7', recorded.msg_id]]) })
  t.match(recorded.msg_id, ULID_LIKE)
  t.strictSame(recorded, { msg_id: recorded.msg_id, sender: SENDER, recipient: 4520000007, message: message!.text, reference: 'ref-7', expiration: null, label: null })
  t.strictSame(sim.requestLog.map((r) => [r.status, r.messages]), [['202', 1]])
  t.equal(requests[0]?.url, '/mobile/single')
})

t.test('422 naming items: invalid, for exactly those references; nothing of the request was sent', async (t) => {
  const { sim, client } = await setup(t)
  sim.rejectRecipients.add(4520000001)
  sim.rejectRecipients.add(4520000003)
  const outcome = await client.send(messages(4))
  t.strictSame(outcome, {
    kind: 'invalid',
    invalid: new Map([
      ['ref-1', 'recipient: Value error, invalid MSISDN'],
      ['ref-3', 'recipient: Value error, invalid MSISDN']
    ])
  })
  t.equal(sim.accepted.length, 0, 'GatewayAPI took nothing from the request')
  t.strictSame(sim.requestLog.map((r) => r.status), ['422'])
})

t.test('422 for a single message: invalid, for that reference', async (t) => {
  const { sim, client } = await setup(t)
  sim.rejectRecipients.add(4520000005)
  const outcome = await client.send(messages(1, 5))
  t.strictSame(outcome, { kind: 'invalid', invalid: new Map([['ref-5', 'recipient: Value error, invalid MSISDN']]) })
  t.equal(sim.accepted.length, 0)
})

t.test('422 not attributable to an item: refused with status 422', async (t) => {
  const { sim, client } = await setup(t)
  const body = { detail: [{ loc: ['body'], msg: 'x', type: 'y' }] }
  sim.script({ status: 422, body })
  const outcome = await client.send(messages(2))
  t.strictSame(outcome, { kind: 'refused', status: 422, reason: JSON.stringify(body) })
  t.equal(sim.accepted.length, 0)
})

t.test('422 blaming an index the request did not have: refused, not an empty invalid map', async (t) => {
  const { sim, client } = await setup(t)
  const body = { detail: [{ loc: ['body', 'messages', 9, 'recipient'], msg: 'x', type: 'y' }] }
  sim.script({ status: 422, body })
  const outcome = await client.send(messages(2))
  t.strictSame(outcome, { kind: 'refused', status: 422, reason: JSON.stringify(body) })
})

t.test('other 4xx: refused with the status', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 400, body: { detail: 'Bad Request' } }, { status: 409 })
  t.strictSame(await client.send(messages(2)), { kind: 'refused', status: 400, reason: '{"detail":"Bad Request"}' })
  t.strictSame(await client.send(messages(2)), { kind: 'refused', status: 409, reason: '{"detail":"simulated fault"}' })
  t.equal(sim.accepted.length, 0)
})

for (const status of [404, 405, 415]) {
  t.test(`${status}: misconfigured (we call the wrong place or the wrong way), never refused`, async (t) => {
    const { sim, client } = await setup(t)
    sim.script({ status, body: { detail: 'Not Found' } })
    t.strictSame(await client.send(messages(2)), { kind: 'misconfigured', status, reason: 'check GATEWAYAPI_BASE_URL and any proxy in the way: {"detail":"Not Found"}' })
  })
}

t.test('413: too large, to be split', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 413, body: { detail: 'Request Entity Too Large' } })
  t.strictSame(await client.send(messages(4)), { kind: 'too-large', status: 413, reason: '{"detail":"Request Entity Too Large"}' })
})

t.test('403 "MSISDN blacklisted" (0x0215): rejected with GatewayAPI\'s code and text, naming the number when the answer does', async (t) => {
  const { sim, client } = await setup(t)
  sim.blacklist.add(4520000001)
  t.strictSame(await client.send(messages(3)), { kind: 'rejected', status: 403, code: '0x0215', reason: 'MSISDN blacklisted', recipients: [] }, 'the answer does not say whom')
  sim.nameRefusedRecipients = true
  t.strictSame(await client.send(messages(3)), { kind: 'rejected', status: 403, code: '0x0215', reason: 'MSISDN 4520000001 blacklisted', recipients: ['4520000001'] })
  t.strictSame(await client.send(messages(1, 1)), { kind: 'rejected', status: 403, code: '0x0215', reason: 'MSISDN 4520000001 blacklisted', recipients: ['4520000001'] }, 'on /mobile/single too')
  t.equal(sim.accepted.length, 0, 'nothing of the requests was sent')
})

t.test('403 "Unauthorized destination" (0x0217) and "Unauthorized operator" (0x021F): rejected (the dispatcher ignores a named number no message has)', async (t) => {
  const { sim, client } = await setup(t)
  sim.forbiddenCountries.add('4520')
  sim.nameRefusedRecipients = true
  t.strictSame(await client.send(messages(2)), { kind: 'rejected', status: 403, code: '0x0217', reason: 'Unauthorized destination: country 4520', recipients: ['4520'] })
  sim.script({ status: 403, body: apiErrorBody(0x021F, ['238', '20']) })
  t.strictSame(await client.send(messages(2)), { kind: 'rejected', status: 403, code: '0x021F', reason: 'Unauthorized operator: MCC 238, MNC 20', recipients: [] })
})

t.test('422 with a recipient-level code is rejected like the 403', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 422, body: apiErrorBody(0x0215, ['4520000000']) })
  t.strictSame(await client.send(messages(2)), { kind: 'rejected', status: 422, code: '0x0215', reason: 'MSISDN 4520000000 blacklisted', recipients: ['4520000000'] })
})

t.test('FastAPI-shaped refusals are read too: `detail` as an object, or words alone', async (t) => {
  const { sim, client } = await setup(t)
  sim.script(
    { status: 403, body: { detail: { code: '0x0215', message: 'MSISDN %1 blacklisted', variables: [4520000001] } } },
    { status: 403, body: { detail: 'Recipient 4520000000 is blacklisted' } },
    { status: 403, body: { detail: { hex_code: '0x0216', details: 'Insufficient credit' } } },
    { status: 403, body: { detail: 'Not authenticated' } }
  )
  t.strictSame(await client.send(messages(2)), { kind: 'rejected', status: 403, code: '0x0215', reason: 'MSISDN 4520000001 blacklisted', recipients: ['4520000001'] })
  t.strictSame(await client.send(messages(2)), { kind: 'rejected', status: 403, code: null, reason: 'Recipient 4520000000 is blacklisted', recipients: ['4520000000'] })
  t.strictSame(await client.send(messages(2)), { kind: 'no-credit', status: 403, code: '0x0216', reason: 'Insufficient credit' })
  t.strictSame(await client.send(messages(2)), { kind: 'unauthorized', status: 403, reason: '{"detail":"Not authenticated"}' }, 'a 403 that says nothing else is about our token')
})

t.test('403 "Insufficient credit" (0x0216), and a 402: no credit', async (t) => {
  const { sim, client } = await setup(t)
  sim.credit = 1
  t.strictSame(await client.send(messages(2)), { kind: 'no-credit', status: 403, code: '0x0216', reason: 'Insufficient credit' }, 'a request the account cannot pay whole')
  t.equal(sim.accepted.length, 0)
  t.equal((await client.send(messages(1))).kind, 'sent', 'what it can pay goes')
  sim.script({ status: 402, body: { detail: 'Payment Required' } })
  t.strictSame(await client.send(messages(1)), { kind: 'no-credit', status: 402, code: null, reason: '{"detail":"Payment Required"}' })
})

t.test('401 with a credentials code, and 403 with an account code (unauthorized IP address): unauthorized', async (t) => {
  const { sim, client } = await setup(t)
  sim.refuseToken(401)
  const refused = await client.send(messages(2))
  t.match(refused, { kind: 'unauthorized', status: 401, reason: /"code":"0x0210"/ })
  sim.refuseToken(403, apiErrorBody(0x0213, ['192.0.2.7']))
  t.match(await client.send(messages(2)), { kind: 'unauthorized', status: 403, reason: /Unauthorized IP-address: 192\.0\.2\.7/ })
  sim.refuseToken(403, apiErrorBody(0x021D))
  t.match(await client.send(messages(2)), { kind: 'unauthorized', status: 403, reason: /SMS not enabled for account/ })
  sim.acceptToken()
  t.equal((await client.send(messages(2))).kind, 'sent', 'accepted again once the token works')
})

t.test('expiration and label are sent per message, and GatewayAPI records them', async (t) => {
  const { sim, client } = await setup(t)
  const [a, b, c] = messages(3)
  const outcome = await client.send([{ ...a!, expiration: 'P2D', label: 'tenant-a' }, { ...b!, expiration: 'PT12H', label: 'tenant-b' }, c!])
  t.equal(outcome.kind, 'sent')
  t.same(sim.accepted.map((m) => [m.reference, m.expiration, m.label]), [['ref-0', 'P2D', 'tenant-a'], ['ref-1', 'PT12H', 'tenant-b'], ['ref-2', null, null]])
})

t.test('GatewayAPI validates expiration and label types: a bad one is a 422 naming the item', async (t) => {
  // Outside the contract on purpose: bodies GatewayAPI refuses, to see the simulator's own 422s.
  const { sim, client } = await setup(t, {}, { contract: false })
  const [a, b, c] = messages(3)
  const outcome = await client.send([{ ...a!, expiration: 'two days' }, { ...b!, label: 'x'.repeat(129) }, { ...c!, expiration: '2025-04-01T12:00:00+02:00', label: 'ok' }])
  t.strictSame(outcome, {
    kind: 'invalid',
    invalid: new Map([
      ['ref-0', 'expiration: Value error, expiration should be an ISO-8601 duration, a date-time, a Unix timestamp or an offset in seconds'],
      ['ref-1', 'label: String should have at most 128 characters']
    ])
  })
  t.equal(sim.accepted.length, 0)
  // Types the client never sends, straight at the simulator.
  const res = await request(`${sim.url}/mobile/multi`, {
    method: 'POST',
    headers: { authorization: `Token ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ sender: SENDER, recipient: 4520000000, message: 'x', expiration: 172800, label: 7, priority: 'high' }] })
  })
  t.equal(res.statusCode, 422)
  t.same(((await res.body.json()) as { detail: Array<{ loc: unknown[]; type: string }> }).detail.map((d) => [d.loc.at(-1), d.type]), [['expiration', 'string_type'], ['label', 'string_type'], ['priority', 'enum']])
})

t.test('401: unauthorized with the status', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 401, body: { detail: 'Missing or malformed Authorization header' } })
  t.strictSame(await client.send(messages(2)), {
    kind: 'unauthorized',
    status: 401,
    reason: '{"detail":"Missing or malformed Authorization header"}'
  })
})

t.test('403 for a wrong token: unauthorized with the status', async (t) => {
  const { sim, client } = await setup(t, { token: 'not-the-right-token' })
  t.strictSame(await client.send(messages(2)), { kind: 'unauthorized', status: 403, reason: '{"detail":"Invalid token"}' })
  t.strictSame(await client.send(messages(1)), { kind: 'unauthorized', status: 403, reason: '{"detail":"Invalid token"}' }, 'on /mobile/single too')
  t.equal(sim.accepted.length, 0)
  t.strictSame(sim.requestLog.map((r) => r.status), ['403', '403'])
})

t.test('429 with Retry-After in seconds: throttled for that long', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 429, headers: { 'retry-after': '3' } })
  t.strictSame(await client.send(messages(2)), { kind: 'throttled', status: 429, retryAfterMs: 3000 })
})

t.test('503 with Retry-After as an HTTP date: throttled until then', async (t) => {
  const now = Date.UTC(2025, 3, 1, 11, 50, 0)
  const { sim, client } = await setup(t, { clock: { now: () => now } })
  sim.script({ status: 503, headers: { 'retry-after': new Date(now + 42_000).toUTCString() } })
  t.strictSame(await client.send(messages(2)), { kind: 'throttled', status: 503, retryAfterMs: 42_000 })
})

t.test('503 with Retry-After as an HTTP date, on the system clock: throttled for a positive time', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 503, headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } })
  const outcome = await client.send(messages(2))
  t.equal(outcome.kind, 'throttled')
  if (outcome.kind !== 'throttled') return
  t.equal(outcome.status, 503)
  t.ok(outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0 && outcome.retryAfterMs <= 60_000, `retryAfterMs ${outcome.retryAfterMs}`)
})

t.test('429 without Retry-After: throttled, leaving the wait to the caller', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 429 })
  t.strictSame(await client.send(messages(2)), { kind: 'throttled', status: 429, retryAfterMs: undefined })
})

t.test('500 and 502: transient, not ambiguous', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 500 }, { status: 502, body: { message: 'Bad Gateway' } })
  t.strictSame(await client.send(messages(2)), { kind: 'transient', reason: 'HTTP 500: {"detail":"simulated fault"}', ambiguous: false })
  t.strictSame(await client.send(messages(1)), { kind: 'transient', reason: 'HTTP 502: {"message":"Bad Gateway"}', ambiguous: false })
})

t.test('connection refused: transient, not ambiguous (nothing reached GatewayAPI)', async (t) => {
  const gone = await simGatewayApi(t, { token: TOKEN }).start()
  const url = gone.url
  await gone.close()
  const client = clientFor(t, url)
  assertTransient(t, await client.send(messages(2)), false, /ECONNREFUSED/)
})

t.test('connection dropped after the request was written: transient and ambiguous', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ drop: true })
  assertTransient(t, await client.send(messages(2)), true, /UND_ERR_SOCKET/)
  t.strictSame(sim.requestLog.map((r) => r.status), ['drop'], 'the request did arrive')
})

t.test('an answer slower than requestTimeoutMs: transient and ambiguous', async (t) => {
  const { sim, client } = await setup(t, { requestTimeoutMs: 100 })
  // The client's own deadline bounds the whole exchange (undici's timers are coarse).
  sim.script({ delayMs: 400 })
  assertTransient(t, await client.send(messages(2)), true, /UND_ERR_HEADERS_TIMEOUT|TimeoutError/)
  // Why it must be ambiguous: GatewayAPI went on to take the messages after we gave up.
  await sim.waitForAccepted(2)
  t.strictSame([...sim.referenceCounts().keys()].sort(), ['ref-0', 'ref-1'])
})

t.test('a 202 whose body is not JSON: sent, with no provider ids', async (t) => {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'text/plain' })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const client = clientFor(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  t.strictSame(await client.send(messages(2)), { kind: 'sent', providerIds: new Map() })
  t.strictSame(await client.send(messages(1)), { kind: 'sent', providerIds: new Map() }, 'on /mobile/single too')
})

t.test('the pool never opens more connections than configured', async (t) => {
  const { sim, client } = await setup(t, { connections: 2 })
  sim.latencyMs = 50
  let open = 0
  let maxOpen = 0
  sim['server']!.server.on('connection', (socket: Socket) => {
    open++
    maxOpen = Math.max(maxOpen, open)
    socket.once('close', () => { open-- })
  })

  const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => client.send(messages(2, i * 2))))

  t.strictSame(outcomes.map((o) => o.kind), Array(6).fill('sent'))
  t.equal(sim.accepted.length, 12)
  t.equal(sim.requestLog.length, 6)
  t.ok(maxOpen <= 2, `at most 2 connections open at once (saw ${maxOpen})`)
  t.equal(maxOpen, 2, 'and both are used when requests queue up')
})

t.test('a 100 MB answer is cut at the cap: transient and ambiguous, and little of it was ever sent', async (t) => {
  const { sim, client } = await setup(t)
  // A 202 says the messages were taken, but an answer we refuse to read cannot say which ids they got.
  sim.script({ status: 202, streamBytes: 100 * 1024 * 1024 })
  const streamed = new Promise<number>((resolve) => sim.once('streamed', resolve))
  const rssBefore = process.memoryUsage().rss
  const outcome = await client.send(messages(2))
  t.strictSame(outcome, { kind: 'transient', reason: `RESPONSE_TOO_LARGE (HTTP 202): response body over the ${GATEWAYAPI_RESPONSE_LIMIT_BYTES}-byte cap; reading stopped there`, ambiguous: true })
  t.equal(GATEWAYAPI_RESPONSE_LIMIT_BYTES, 1024 * 1024)
  // The simulator writes only as fast as we read: it stops when we cut the connection.
  const written = await streamed
  t.ok(written < 16 * 1024 * 1024, `GatewayAPI could write only ${written} bytes before the client cut it (far below 100 MB)`)
  t.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory did not grow by the answer\'s size')
  t.strictSame(await client.send(messages(2, 2)), { kind: 'sent', providerIds: new Map(sim.accepted.map((a) => [a.reference!, a.msg_id])) }, 'the client works on afterwards')
})

t.test('a 202 for 1,000 messages with long references is well within the cap: sent, every id read', async (t) => {
  const { sim, client } = await setup(t)
  const batch = messages(1000).map((m) => ({ ...m, reference: `${m.reference}-${'r'.repeat(60)}` }))
  const outcome = await client.send(batch)
  t.equal(outcome.kind, 'sent')
  if (outcome.kind !== 'sent') return
  t.equal(outcome.providerIds.size, 1000)
  t.ok([...outcome.providerIds.values()].every((id) => id !== null && ULID_LIKE.test(id)))
  const answerBytes = JSON.stringify({ responses: sim.accepted.map((a) => ({ msg_id: a.msg_id, recipient: a.recipient, reference: a.reference })) }).length
  t.ok(answerBytes * 5 < GATEWAYAPI_RESPONSE_LIMIT_BYTES, `the answer (${answerBytes} bytes) is a fifth of the cap at most`)
})

for (const status of [301, 302, 307, 308]) {
  t.test(`${status}: transient, not ambiguous, alert (a wrong base URL), never refused`, async (t) => {
    const { sim, client } = await setup(t)
    sim.script({ status, headers: { location: 'https://messaging.gatewayapi.eu/mobile/multi' }, body: { detail: 'moved' } })
    t.strictSame(await client.send(messages(2)), {
      kind: 'transient',
      reason: `HTTP ${status} redirect to https://messaging.gatewayapi.eu/mobile/multi: check GATEWAYAPI_BASE_URL`,
      ambiguous: false,
      alert: true
    })
    t.equal(sim.accepted.length, 0, 'the redirect was not followed: nothing sent anywhere')
    t.strictSame(sim.requestLog.map((r) => r.status), [String(status)])
  })
}

t.test('a 3xx without a Location header says so', async (t) => {
  const { sim, client } = await setup(t)
  sim.script({ status: 301 })
  t.strictSame(await client.send(messages(1)), { kind: 'transient', reason: 'HTTP 301 redirect to (no Location header): check GATEWAYAPI_BASE_URL', ambiguous: false, alert: true })
})

/** A GatewayAPI stand-in answering every request with `answer` (after reading the request), closed at teardown. */
async function answering (t: Test, answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => answer(res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (res: import('node:http').ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(body === undefined ? '' : JSON.stringify(body))
}

t.test('the errors that mean nothing reached GatewayAPI: refused, unknown or unreachable host, connect timeout', async (t) => {
  t.same([...NOT_SENT_ERRORS].sort(), ['EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'UND_ERR_CONNECT_TIMEOUT'])
  t.notOk(NOT_SENT_ERRORS.has('UND_ERR_SOCKET'), 'a dropped connection may have carried the request')
})

t.test('every request asks for JSON and says it sends JSON, with our token', async (t) => {
  const { client, requests } = await setup(t)
  await client.send(messages(2))
  t.match(requests[0]!.headers, { accept: 'application/json', 'content-type': 'application/json', authorization: `Token ${TOKEN}` })
})

t.test('a 200 is sent like a 202; a 201 or 204 is neither sent nor a redirect, but refused', async (t) => {
  const ok = clientFor(t, await answering(t, json(200, { responses: [{ msg_id: 'A', reference: 'ref-0' }, null, { msg_id: 7, reference: 'ref-1' }] })))
  t.strictSame(await ok.send(messages(2)), { kind: 'sent', providerIds: new Map([['ref-0', 'A'], ['ref-1', null]]) }, 'a null entry skipped, a non-string id read as none')
  for (const status of [201, 204]) {
    const odd = clientFor(t, await answering(t, json(status, undefined)))
    t.strictSame(await odd.send(messages(2)), { kind: 'refused', status, reason: 'no body' }, `${status}`)
  }
})

t.test('a 202 to /mobile/multi with no body at all: sent, with no provider ids', async (t) => {
  const client = clientFor(t, await answering(t, json(202, undefined)))
  t.strictSame(await client.send(messages(2)), { kind: 'sent', providerIds: new Map() })
})

t.test('a 202 whose body breaks off: still sent (the status said so), with no provider ids', async (t) => {
  const client = clientFor(t, await answering(t, (res) => {
    res.writeHead(202, { 'content-type': 'application/json', 'content-length': '1000' })
    res.write('{"responses": [')
    setImmediate(() => res.destroy())
  }))
  t.strictSame(await client.send(messages(2)), { kind: 'sent', providerIds: new Map() })
})

t.test('a 300 is a redirect too; a Location of any length is cut to 300 characters in the reason', async (t) => {
  const location = `https://elsewhere.example/${'x'.repeat(400)}`
  const client = clientFor(t, await answering(t, json(300, undefined, { location })))
  const outcome = await client.send(messages(1))
  t.strictSame(outcome, { kind: 'transient', reason: `HTTP 300 redirect to ${location.slice(0, 300)}: check GATEWAYAPI_BASE_URL`, ambiguous: false, alert: true })
})

t.test('a refusal\'s reason: its text body as given, "no body" when empty, JSON cut to 300 characters', async (t) => {
  const text = clientFor(t, await answering(t, (res) => { res.writeHead(400, { 'content-type': 'text/plain' }); res.end('Bad thing happened') }))
  t.strictSame(await text.send(messages(2)), { kind: 'refused', status: 400, reason: 'Bad thing happened' })
  const empty = clientFor(t, await answering(t, json(400, undefined)))
  t.strictSame(await empty.send(messages(2)), { kind: 'refused', status: 400, reason: 'no body' })
  const long = { message: 'y'.repeat(500) }
  const big = clientFor(t, await answering(t, json(400, long)))
  t.strictSame(await big.send(messages(2)), { kind: 'refused', status: 400, reason: JSON.stringify(long).slice(0, 300) })
})

t.test('items are blamed only by a 422: a 400 with the same body is refused', async (t) => {
  const body = { detail: [{ loc: ['body', 'messages', 0, 'recipient'], msg: 'bad', type: 'value_error' }] }
  const client = clientFor(t, await answering(t, json(400, body)))
  t.strictSame(await client.send(messages(2)), { kind: 'refused', status: 400, reason: JSON.stringify(body) })
})

t.test('a credentials or account code means unauthorized whatever the status; a recipient code without words is reported with the body', async (t) => {
  for (const [code, what] of [['0x0211', 'credentials'], ['0x0219', 'account']] as const) {
    const body = { code, message: `${what} refused` }
    const client = clientFor(t, await answering(t, json(400, body)))
    t.strictSame(await client.send(messages(2)), { kind: 'unauthorized', status: 400, reason: JSON.stringify(body) }, `${what} (${code}) with a 400`)
  }
  const wordless = { code: '0x0215' }
  const client = clientFor(t, await answering(t, json(403, wordless)))
  t.match(await client.send(messages(2)), { kind: 'rejected', status: 403, code: '0x0215', reason: JSON.stringify(wordless) })
})

t.test('after close(), a send reaches nobody: the closed pool refuses it as a transient failure', async (t) => {
  const { sim } = await setup(t)
  const client = createGatewayApiClient({ baseUrl: sim.url, token: TOKEN, connections: 1, connectTimeoutMs: 1000, requestTimeoutMs: 2000 })
  await client.send(messages(1))
  await client.close()
  const outcome = await client.send(messages(1))
  t.match(outcome, { kind: 'transient', reason: /^UND_ERR_(CLOSED|DESTROYED)/ })
  t.equal(sim.accepted.length, 1, 'only the send before close() arrived')
})
