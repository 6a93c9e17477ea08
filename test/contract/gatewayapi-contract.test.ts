import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { request } from 'undici'
import { MAX_TEXT_LENGTH } from '../../src/gatewayapi/recipient-rule.js'
import { parseMobileNumber } from '../../src/core/phone-number.js'
import { providerLabel } from '../../src/core/request-splitter.js'
import type { OutgoingMessage } from '../../src/core/message-sender.js'
import { createGatewayApiClient } from '../../src/gatewayapi/send-client.js'
import { SimGatewayApi } from '../../src/sim/gatewayapi.js'
import { listenOnLoopback, readBody, sendJson } from '../../src/sim/http-server.js'
import { ROOT, simGatewayApi } from '../helper.js'
import { contractCounts } from './contract-counts.js'
import { gatewayApiContract } from './gatewayapi-contract.js'

// The contract check itself: that it refuses what GatewayAPI's OpenAPI document refuses, that a
// test whose traffic breaks it fails, and that what our client sends and what the simulator
// posts fit it.

const TOKEN = 'contract-token'
const document = JSON.parse(readFileSync(new URL('../fixtures/gatewayapi-openapi.json', import.meta.url), 'utf8'))
const SMS_STATUSES: string[] = document.components.schemas.SMSStatus.properties.status.enum
const MESSAGE = { sender: 'Brand', recipient: 4520000000, message: 'Hello', reference: 'ref-0' }

t.test('requests outside the document are caught, each violation named by where it is', async (t) => {
  // Not counted: these checks are made to fail, they are not traffic.
  const contract = gatewayApiContract({ counted: false })
  const cases: Array<{ what: string; path: '/mobile/single' | '/mobile/multi'; body: unknown; violations: string[] }> = [
    { what: 'a string recipient', path: '/mobile/single', body: { ...MESSAGE, recipient: '4520000000' }, violations: ['/recipient must be integer, got "4520000000"'] },
    { what: 'a string recipient in a multi request', path: '/mobile/multi', body: { messages: [MESSAGE, { ...MESSAGE, recipient: '4520000001' }] }, violations: ['/messages/1/recipient must be integer, got "4520000001"'] },
    { what: 'a recipient of 1000 (gt: 1000)', path: '/mobile/single', body: { ...MESSAGE, recipient: 1000 }, violations: ['/recipient must be > 1000, got 1000'] },
    { what: 'a recipient of 16 digits (le: 999999999999999)', path: '/mobile/single', body: { ...MESSAGE, recipient: 1_000_000_000_000_000 }, violations: ['/recipient must be <= 999999999999999, got 1000000000000000'] },
    { what: 'a message without a sender', path: '/mobile/multi', body: { messages: [{ recipient: 4520000000, message: 'Hello' }] }, violations: ["/messages/0 must have required property 'sender'"] },
    { what: 'a property the document does not name', path: '/mobile/single', body: { ...MESSAGE, callback_url: 'https://example.com' }, violations: ['(body) must NOT have additional properties: callback_url'] },
    { what: 'a label of 129 characters', path: '/mobile/single', body: { ...MESSAGE, label: 'x'.repeat(129) }, violations: ['/label must NOT have more than 128 characters, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…', '/label must be null, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…', '/label must match a schema in anyOf, got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'] },
    { what: 'an expiration in words', path: '/mobile/single', body: { ...MESSAGE, expiration: 'two days' }, violations: ['/expiration must match format "duration", got "two days"', '/expiration must match format "date-time", got "two days"', '/expiration must match a schema in anyOf, got "two days"'] },
    { what: 'no messages', path: '/mobile/multi', body: { messages: [] }, violations: ['/messages must NOT have fewer than 1 items'] },
    { what: '1001 messages', path: '/mobile/multi', body: { messages: Array.from({ length: 1001 }, () => MESSAGE) }, violations: ['/messages must NOT have more than 1000 items'] }
  ]
  for (const c of cases) t.strictSame(contract.request(c.path, c.body), c.violations, c.what)
  t.strictSame(contract.request('/mobile/single', { ...MESSAGE, recipient: 1001 }), [], 'a recipient of 1001 is within gt: 1000')
  t.strictSame(contract.request('/mobile/single', { ...MESSAGE, recipient: 999_999_999_999_999 }), [], 'fifteen nines are within le')
})

t.test('the simulator answers a request outside the contract 422 contract_violation, takes nothing, and keeps the violation', async (t) => {
  // Not through simGatewayApi, and not counted: this test breaks the contract on purpose and reads the record itself.
  const sim = await new SimGatewayApi({ token: TOKEN, contract: gatewayApiContract({ counted: false }) }).start()
  t.teardown(() => sim.close())
  const post = async (path: string, body: string) => {
    const res = await request(`${sim.url}${path}`, { method: 'POST', headers: { authorization: `Token ${TOKEN}`, 'content-type': 'application/json' }, body })
    return { status: res.statusCode, body: await res.body.json() }
  }
  t.strictSame(await post('/mobile/single', JSON.stringify({ ...MESSAGE, recipient: '4520000000' })), {
    status: 422,
    body: { detail: [{ loc: ['body'], msg: '/recipient must be integer, got "4520000000"', type: 'contract_violation' }] }
  })
  t.equal((await post('/mobile/multi', '{"messages":')).status, 422)
  t.strictSame(sim.contractViolations, ['POST /mobile/single: /recipient must be integer, got "4520000000"', 'POST /mobile/multi: the body is not JSON'])
  t.equal(sim.accepted.length, 0)
  t.equal((await post('/mobile/single', JSON.stringify(MESSAGE))).status, 202, 'a request inside the contract is served as ever')
})

t.test('a test whose request breaks the contract fails, naming the violation, though it asserts nothing about it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/contract/fixtures/breaks-contract.ts'], { cwd: ROOT, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => { output += String(chunk) })
  child.stderr.on('data', (chunk) => { output += String(chunk) })
  const [code] = await once(child, 'exit')
  t.equal(code, 1, 'the test process fails')
  t.match(output, '1 violation(s) of GatewayAPI\'s OpenAPI document, the first: POST /mobile/single: /recipient must be integer, got "4520000000"')
})

t.test('what our send client sends fits the document: single and multi, with expiration and label', async (t) => {
  const sim = await simGatewayApi(t, { token: TOKEN }).start()
  t.teardown(() => sim.close())
  const client = createGatewayApiClient({ baseUrl: sim.url, token: TOKEN, connections: 1, connectTimeoutMs: 1000, requestTimeoutMs: 5000 })
  t.teardown(() => client.close())
  const msisdn = (written: string): string => {
    const number = parseMobileNumber(written)
    if (!number.ok) throw new Error(number.reason)
    return number.msisdn
  }
  const message = (i: number, extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({ reference: `ref-${i}`, senderId: 'Brand', msisdn: msisdn('+45 20 00 00 00'), text: `Hello ${i}`, ...extra })
  const before = contractCounts()

  t.equal((await client.send([message(0, { expiration: 'P2D', label: 'tenant-a' })])).kind, 'sent', '/mobile/single with expiration and label')
  t.equal((await client.send([message(1)])).kind, 'sent', '/mobile/single with neither')
  const multi = [
    message(2, { expiration: 'P2D', label: 'tenant-a' }),
    message(3, { expiration: 'PT12H', label: providerLabel('x'.repeat(200)) }),
    message(4, { expiration: 'P1W', label: providerLabel('🙂'.repeat(200)) }),
    message(5, { expiration: 'P1DT6H', msisdn: msisdn('+1 (212) 555-0100'), senderId: '4512345678901' }),
    message(6, { expiration: 'P5D', msisdn: msisdn('0044 7700 900123'), text: 'x'.repeat(MAX_TEXT_LENGTH) }),
    message(7)
  ]
  t.equal((await client.send(multi)).kind, 'sent', '/mobile/multi with and without expiration and label, at the limits of label and text')

  t.strictSame(sim.contractViolations, [])
  t.equal(sim.accepted.length, 8)
  t.strictSame(sim.accepted.map((m) => [m.reference, m.expiration]), [['ref-0', 'P2D'], ['ref-1', null], ['ref-2', 'P2D'], ['ref-3', 'PT12H'], ['ref-4', 'P1W'], ['ref-5', 'P1DT6H'], ['ref-6', 'P5D'], ['ref-7', null]])
  t.equal(contractCounts().requests - before.requests, 3, 'all three requests were checked')
})

t.test('every event the simulator builds fits the document: each SMS status, with and without error, and replies', async (t) => {
  const received: unknown[] = []
  const webhook = await listenOnLoopback(async (req, res) => {
    received.push(JSON.parse((await readBody(req)).toString('utf8')))
    sendJson(res, 200, { status: 'recorded' })
  })
  t.teardown(() => webhook.close())
  const steps = [...SMS_STATUSES, { status: 'REJECTED', error: { hex_code: '0x1905', details: 'Unsupported sender' } }]
  const sim = await simGatewayApi(t, { token: TOKEN, webhook: { url: webhook.url, secret: 'contract-secret' }, autoStatus: { pick: () => steps } }).start()
  t.teardown(() => sim.close())
  t.ok(SMS_STATUSES.length >= 8, `the document lists the SMS statuses (${SMS_STATUSES.join(', ')})`)
  const before = contractCounts()

  // Built on request, as tests post them.
  const accepted = { msg_id: '01JQRJWK259Y1YEECJZB50908V', recipient: 4512345678, reference: 'ref-0' }
  for (const status of SMS_STATUSES) sim.statusEvent(accepted, status)
  sim.statusEvent({ ...accepted, reference: null }, 'UNDELIVERABLE', { error: { hex_code: '0x1002', details: 'Absent subscriber' }, timestamp: new Date(Date.now() - 60_000), eventId: 'event-1' })
  sim.replyEvent(4512345678, 'STOP')
  sim.replyEvent(4512345678, 'Ja tak 🙂', { timestamp: new Date(Date.now() - 1000) })

  // Built and posted by the simulator itself after a 202.
  const client = createGatewayApiClient({ baseUrl: sim.url, token: TOKEN, connections: 1, connectTimeoutMs: 1000, requestTimeoutMs: 5000 })
  t.teardown(() => client.close())
  t.equal((await client.send([{ reference: 'ref-1', senderId: 'Brand', msisdn: '4512345678', text: 'Hello' }])).kind, 'sent')
  await sim.statusIdle()
  t.equal(received.length, steps.length, 'every automatic status event was posted')

  t.strictSame(sim.contractViolations, [])
  t.equal(contractCounts().events - before.events, SMS_STATUSES.length + 1 + 2 + steps.length, 'every event was checked')
})

t.test('an event outside the document is kept against the simulator: the event check is not vacuous', async (t) => {
  // As above: broken on purpose, read here, not counted.
  const sim = new SimGatewayApi({ token: TOKEN, contract: gatewayApiContract({ counted: false }) })
  const accepted = { msg_id: '01JQRJWK259Y1YEECJZB50908V', recipient: 4512345678, reference: 'ref-0' }
  // BUFFERED is an older status GatewayAPI may still send, but the document no longer lists it.
  sim.statusEvent(accepted, 'BUFFERED')
  sim.statusEvent({ ...accepted, recipient: '4512345678' as unknown as number }, 'DELIVERED')
  sim.replyEvent('4512345678' as unknown as number, 'STOP')
  // The document's event is an SMS or an RCS status: each branch says why it does not fit.
  t.strictSame(sim.contractViolations, [
    'event message.status.sms: /event/status must be equal to one of the allowed values (ENROUTE, DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, ACCEPTED, UNKNOWN, REJECTED), got "BUFFERED"',
    'event message.status.sms: /event/status must be equal to one of the allowed values (DELIVERED, READ, ENROUTE, EXPIRED), got "BUFFERED"',
    'event message.status.sms: /event must match a schema in anyOf',
    'event message.status.sms: /event/recipient must be integer, got "4512345678"',
    'event message.status.sms: /event must match a schema in anyOf',
    'event user-message.text.sms: /event/sender must be integer, got "4512345678"'
  ])
})
