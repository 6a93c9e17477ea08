import t from 'tap'
import { connect } from 'node:net'
import { once } from 'node:events'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { signGatewaySignature } from '../../src/lib/hmac-signature.js'
import { buildTestApp, listenTestApp, testConfig } from '../helper.js'

type App = ReturnType<typeof buildTestApp>['app']

function postEvent (app: App, raw: string, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: GATEWAYAPI_EVENTS_PATH, payload: raw, headers })
}

/** A signed, well-formed status event padded to about `bytes` bytes. */
function signedEvent (secret: string, bytes = 0): { raw: string; signature: string } {
  const raw = JSON.stringify({ event_id: 'e-1', event_type: 'message.status.sms', timestamp: new Date().toISOString(), padding: 'x'.repeat(bytes) })
  return { raw, signature: signGatewaySignature(raw, secret) }
}

async function metricsText (app: App): Promise<string> {
  return (await app.inject({ method: 'GET', url: '/metrics' })).body
}

t.test('415: an event that is not JSON, text/plain included, even correctly signed', async (t) => {
  const { app, config } = buildTestApp(t)
  const raw = 'event_id=1'
  const signature = signGatewaySignature(raw, config.gatewayapi.webhookSecret)
  for (const type of ['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/xml']) {
    const res = await postEvent(app, raw, { 'content-type': type, signature })
    t.equal(res.statusCode, 415, type)
    t.same(res.json(), { message: 'the body must be application/json', code: 'UNSUPPORTED_MEDIA_TYPE' }, type)
  }
  const untyped = await postEvent(app, raw, { signature })
  t.equal(untyped.statusCode, 415, 'a body without a content type')
})

t.test('413 names the webhook limit (WEBHOOK_BODY_LIMIT_BYTES), not the campaign one', async (t) => {
  const config = testConfig({ WEBHOOK_BODY_LIMIT_BYTES: '4096' })
  const { app, admin } = buildTestApp(t, { config })
  const { raw, signature } = signedEvent(config.gatewayapi.webhookSecret, 5000)
  const res = await postEvent(app, raw, { 'content-type': 'application/json', signature })
  t.equal(res.statusCode, 413)
  t.same(res.json(), { message: 'the body is larger than the limit of 4096 bytes', code: 'PAYLOAD_TOO_LARGE' })
  t.equal(res.headers.connection, 'close')
  t.notMatch(await metricsText(admin), /bridge_campaign_refusals_total\{reason="too-large"\}/, 'not counted as a campaign refusal')
})

t.test('the default webhook limit is 64 KiB: a 70 KB event is refused, a 60 KB one is read', async (t) => {
  const { app, config } = buildTestApp(t)
  const big = signedEvent(config.gatewayapi.webhookSecret, 70_000)
  const refused = await postEvent(app, big.raw, { 'content-type': 'application/json', signature: big.signature })
  t.same([refused.statusCode, refused.json()], [413, { message: 'the body is larger than the limit of 65536 bytes', code: 'PAYLOAD_TOO_LARGE' }])
  const fits = signedEvent(config.gatewayapi.webhookSecret, 60_000)
  const read = await postEvent(app, fits.raw, { 'content-type': 'application/json', signature: fits.signature })
  // Read and judged on its content: this envelope has no event, so it is kept as unusable (not refused).
  t.same([read.statusCode, read.json()], [200, { status: 'unusable' }])
})

t.test('the campaign 413 still names the campaign limit', async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: '3000', WEBHOOK_BODY_LIMIT_BYTES: '5000' })
  const { app } = buildTestApp(t, { config })
  const res = await app.inject({ method: 'POST', url: '/api/v1/campaigns/send', payload: 'x'.repeat(4000), headers: { 'content-type': 'application/json', 'x-api-key': config.registrations[0]!.aggregatorApiKey } })
  t.same([res.statusCode, res.json().message], [413, 'the body is larger than the limit of 3000 bytes'])
})

t.test('a missing or malformed Signature is refused 401 before a byte of the body is sent', async (t) => {
  const { port, admin } = await listenTestApp(t)
  for (const [header, reason] of [['', 'missing-header'], ['Signature: v1=zz\r\n', 'malformed-header'], ['Signature: sha256=' + 'a'.repeat(64) + '\r\n', 'malformed-header']] as const) {
    const socket = connect(port, '127.0.0.1')
    t.teardown(() => socket.destroy())
    socket.write(`POST ${GATEWAYAPI_EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${header}Content-Length: 60000\r\n\r\n`)
    let answer = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
    while (!answer.includes('}')) await once(socket, 'data')
    t.match(answer, /^HTTP\/1\.1 401 /, reason)
    t.match(answer, `{"message":"Signature refused: ${reason}","code":"UNAUTHORIZED"}`)
    socket.destroy()
  }
  t.match(await metricsText(admin), /bridge_webhook_events_total\{event_type="unknown",outcome="signature-refused"\} 3/)
})

t.test('a well-formed but wrong Signature is still verified over the whole body: 401 mismatch', async (t) => {
  const { app, config } = buildTestApp(t)
  const { raw } = signedEvent(config.gatewayapi.webhookSecret)
  const res = await postEvent(app, raw, { 'content-type': 'application/json', signature: 'v1=' + 'ab'.repeat(32) })
  t.same([res.statusCode, res.json()], [401, { message: 'Signature refused: mismatch', code: 'UNAUTHORIZED' }])
})
