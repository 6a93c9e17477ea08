import t from 'tap'
import { request } from 'undici'
import { apiErrorBody } from '../../src/sim/gatewayapi.js'
import { campaignBody, inspectStoreAt, logCapture, startStack, until } from '../helper.js'

const done = (dbPath: string, n: number) => async (): Promise<boolean> => {
  const { messages } = await inspectStoreAt(dbPath)
  return messages.length === n && messages.every((m) => m.state === 'submitted' || m.state === 'failed')
}

t.test('a 10,000-recipient campaign reaches GatewayAPI complete: each message once, fields right', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t)
  const body = campaignBody({ recipients: 10_000 })
  t.equal((await sendCampaign(body)).status, 200)
  await gateway.waitForAccepted(10_000)
  await until(service.dispatcher, 'settled', done(dbPath, 10_000))

  const { messages } = await inspectStoreAt(dbPath)
  const counts = gateway.referenceCounts()
  t.equal(gateway.accepted.length, 10_000)
  t.equal(counts.size, 10_000)
  t.ok([...counts.values()].every((n) => n === 1), 'no message was sent twice')
  const byReference = new Map(gateway.accepted.map((m) => [m.reference, m]))
  const recipients = body.recipients as Array<{ message: string }>
  let mismatches = 0
  messages.forEach((m, i) => {
    const sent = byReference.get(m.reference)
    if (sent === undefined || sent.sender !== 'Brand' || sent.recipient !== Number(m.mobileNumber) || typeof sent.recipient !== 'number' || sent.message !== recipients[i]!.message) mismatches++
  })
  t.equal(mismatches, 0, 'sender, integer recipient, text and reference match for every message')
  t.ok(messages.every((m) => m.state === 'submitted' && typeof m.providerMessageId === 'string' && m.providerMessageId.length === 26), 'every message stored submitted with its 26-character msg_id')
  t.ok(gateway.requestLog.every((r) => r.messages <= 1000), 'at most 1000 messages per request')
})

t.test('one message goes to /mobile/single', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t)
  await sendCampaign(campaignBody({ recipients: 1 }))
  await until(service.dispatcher, 'settled', done(dbPath, 1))
  t.equal(gateway.accepted.length, 1)
  t.equal((await inspectStoreAt(dbPath)).messages[0]!.state, 'submitted')
})

t.test('422: exactly the offending messages fail (ProviderRejected), the rest are resent', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t)
  gateway.rejectRecipients.add(4520000003)
  gateway.rejectRecipients.add(4520000007)
  await sendCampaign(campaignBody({ recipients: 10 }))
  await until(service.dispatcher, 'settled', done(dbPath, 10))
  const { messages, reports } = await inspectStoreAt(dbPath)
  t.same(messages.map((m) => m.state), ['submitted', 'submitted', 'submitted', 'failed', 'submitted', 'submitted', 'submitted', 'failed', 'submitted', 'submitted'])
  t.match(messages[3]!.lastError, /recipient: Value error, invalid MSISDN/)
  t.same(reports.map((r) => r.outcome), ['provider-rejected', 'provider-rejected'])
  t.equal(gateway.accepted.length, 8)
  t.same(gateway.requestLog.map((r) => r.status), ['422', '202'])
})

/** One unlabelled sample of /metrics (0 when absent). */
async function metricValue (url: string, name: string): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

async function getJson (url: string): Promise<{ status: number; body: any }> {
  const res = await request(url)
  return { status: res.statusCode, body: await res.body.json() }
}

const refusals = [
  { status: 401, body: undefined, pattern: /0x0210/ },
  { status: 403, body: apiErrorBody(0x0213, ['192.0.2.7']), pattern: /Unauthorized IP-address: 192\.0\.2\.7/ }
]
for (const refusal of refusals) {
  t.test(`${refusal.status}: sending halts with the queue intact, /ready stays 200, and sending resumes by itself once GatewayAPI takes the token again`, async (t) => {
    const logs = logCapture()
    const { gateway, service, dbPath, sendCampaign } = await startStack(t, { CREDENTIALS_PROBE_SECONDS: '1' }, { logStream: logs.stream })
    if (refusal.body === undefined) gateway.refuseToken(refusal.status)
    else gateway.refuseToken(refusal.status, refusal.body)
    await sendCampaign(campaignBody({ recipients: 5 }))
    await until(service.dispatcher, 'settled', () => service.dispatcher.state().halted !== undefined)
    await sendCampaign(campaignBody({ recipients: 5, requestId: 'second' }))

    const ready = await getJson(`${service.adminUrl}/ready`)
    t.equal(ready.status, 200, '/ready means "can take webhooks": a halt does not change it')
    t.match(ready.body, { ready: true, sending: new RegExp(`^halted: provider refused our credentials \\(HTTP ${refusal.status}\\)`) })
    const health = await getJson(`${service.adminUrl}/health`)
    t.equal(health.status, 200)
    t.match(health.body, { status: 'ok', sending: /^halted: provider refused our credentials .*; next try at \d{4}-\d{2}-\d{2}T/ })
    t.match(health.body.sending, refusal.pattern, 'GatewayAPI\'s reason is shown')
    t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_halted'), 1)
    const { messages } = await inspectStoreAt(dbPath)
    t.same(messages.map((m) => [m.state, m.attempts]), Array(10).fill(['queued', 0]), 'all ten wait, no attempt burnt')
    t.equal(logs.lines().filter((l) => l.includes('sending halted')).length, 1, 'one error logged')

    gateway.acceptToken()
    await until(service.dispatcher, 'settled', done(dbPath, 10))
    t.ok((await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'), 'all sent once the token works: no restart')
    t.equal(gateway.referenceCounts().size, 10)
    t.ok([...gateway.referenceCounts().values()].every((n) => n === 1))
    const refused = gateway.requestLog.filter((r) => r.status === String(refusal.status))
    t.ok(refused.slice(1).every((r, i) => r.at - refused[i]!.at >= 950), 'while halted, one request per probe interval at most')
    t.equal(service.dispatcher.state().halted, undefined)
    t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_halted'), 0)
    t.match((await getJson(`${service.adminUrl}/health`)).body, { status: 'ok', sending: 'ok' })
    t.equal((await getJson(`${service.adminUrl}/ready`)).status, 200)
    t.equal((await inspectStoreAt(dbPath)).reports.length, 0, 'nothing failed')
  })
}

for (const status of [404, 405, 415]) {
  t.test(`${status}: a configuration error halts like a 401 (nothing failed, /ready 200) and a probe that gets through resumes`, async (t) => {
    const { gateway, service, dbPath, sendCampaign } = await startStack(t, { CREDENTIALS_PROBE_SECONDS: '1' })
    gateway.script({ status, body: { detail: 'Not Found' } })
    await sendCampaign(campaignBody({ recipients: 3 }))
    await until(service.dispatcher, 'settled', () => service.dispatcher.state().halted !== undefined)
    t.equal((await getJson(`${service.adminUrl}/ready`)).status, 200)
    t.match((await getJson(`${service.adminUrl}/health`)).body.sending, new RegExp(`^halted: provider configuration error \\(HTTP ${status}\\): check GATEWAYAPI_BASE_URL`))
    await until(service.dispatcher, 'settled', done(dbPath, 3))
    t.same((await inspectStoreAt(dbPath)).messages.map((m) => [m.state, m.attempts]), Array(3).fill(['submitted', 1]))
    t.same(gateway.requestLog.map((r) => r.status), [String(status), '202'])
    t.ok(gateway.requestLog[1]!.at - gateway.requestLog[0]!.at >= 950, 'the probe waited for CREDENTIALS_PROBE_SECONDS')
  })
}

t.test('a 403 "blacklisted" for one recipient of a 1,000-message request: that message fails with GatewayAPI\'s code and text, the 999 others are sent once', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t)
  const blacklisted = 4520000616
  gateway.blacklist.add(blacklisted)
  await sendCampaign(campaignBody({ recipients: 1000 }))
  await until(service.dispatcher, 'settled', done(dbPath, 1000))
  const { messages } = await inspectStoreAt(dbPath)
  const failed = messages.filter((m) => m.state === 'failed')
  t.same(failed.map((m) => [m.mobileNumber, m.finalOutcome]), [[String(blacklisted), 'provider-rejected']])
  const counts = gateway.referenceCounts()
  t.equal(counts.size, 999)
  t.ok([...counts.values()].every((n) => n === 1), 'each of the 999 reached GatewayAPI once')
  t.notOk(counts.has(failed[0]!.reference))
  t.equal(gateway.requestLog[0]!.messages, 1000, 'they went as one request first')
  t.ok(messages.filter((m) => m.state === 'submitted').every((m) => m.attempts === 1), 'the innocent were not charged an attempt')
  await until(service.reports, 'settled', () => optimove.received('delivery-report').length === 1)
  const [report] = optimove.received('delivery-report')
  t.match(report!.body, { messageId: failed[0]!.reference, type: { status: 'Failed', subStatus: 'ProviderRejected' }, error: { code: '0x0215', details: 'MSISDN blacklisted' } }, 'the report carries GatewayAPI\'s code and text')
  t.equal((await getJson(`${service.adminUrl}/ready`)).status, 200)
})

t.test('insufficient credit: sending pauses for SEND_NO_CREDIT_PAUSE_SECONDS with nothing failed, visible in /health and /metrics, then resumes', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_NO_CREDIT_PAUSE_SECONDS: '1', SEND_BATCH_SIZE: '10', SEND_CONCURRENCY: '1' })
  gateway.credit = 0
  await sendCampaign(campaignBody({ recipients: 25 }))
  await until(service.dispatcher, 'settled', () => service.dispatcher.state().noCredit)
  const pausedAt = gateway.requestLog[0]!.at

  t.equal((await getJson(`${service.adminUrl}/ready`)).status, 200, '/ready stays 200')
  t.match((await getJson(`${service.adminUrl}/health`)).body, { status: 'ok', sending: /^paused until \d{4}-.*: the GatewayAPI account has no credit left$/ })
  t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_no_credit'), 1, 'an operator can alert on it')
  t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_paused'), 1)
  t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_halted'), 0, 'a pause is no halt')
  t.ok((await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'queued' && m.attempts === 0), 'nothing failed, the attempt refunded')

  gateway.credit = undefined // topped up
  await until(service.dispatcher, 'settled', done(dbPath, 25))
  const { messages, reports } = await inspectStoreAt(dbPath)
  t.ok(messages.every((m) => m.state === 'submitted' && m.attempts === 1), 'all sent, none failed')
  t.equal(reports.length, 0, 'no failure report')
  t.ok(gateway.requestLog.slice(1).every((r) => r.at - pausedAt >= 950), 'nothing was sent during the pause')
  t.ok([...gateway.referenceCounts().values()].every((n) => n === 1) && gateway.referenceCounts().size === 25)
  t.equal(await metricValue(service.adminUrl, 'bridge_dispatcher_no_credit'), 0)
  t.match((await getJson(`${service.adminUrl}/health`)).body, { sending: 'ok' })
})

t.test('413: the request is split and its halves sent, each message once', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t)
  gateway.script({ status: 413, body: { detail: 'Request Entity Too Large' } })
  await sendCampaign(campaignBody({ recipients: 1000 }))
  await until(service.dispatcher, 'settled', done(dbPath, 1000))
  t.same(gateway.requestLog.map((r) => [r.status, r.messages]), [['413', 0], ['202', 500], ['202', 500]])
  t.ok((await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted' && m.attempts === 1))
  t.ok([...gateway.referenceCounts().values()].every((n) => n === 1) && gateway.referenceCounts().size === 1000)
})

t.test('every message carries the registration\'s expiration and its name as the label', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { MESSAGE_EXPIRATION: 'PT6H' })
  await sendCampaign(campaignBody({ recipients: 3 }))
  await sendCampaign(campaignBody({ recipients: 1, requestId: 'single' }))
  await until(service.dispatcher, 'settled', done(dbPath, 4))
  t.same(gateway.accepted.map((m) => [m.expiration, m.label]), Array(4).fill(['PT6H', 'default']), 'on /mobile/multi and /mobile/single')
})

t.test('429 with Retry-After pauses the whole dispatcher that long, then everything goes', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_BATCH_SIZE: '10', SEND_CONCURRENCY: '2' })
  gateway.script({ status: 429, headers: { 'retry-after': '1' } })
  await sendCampaign(campaignBody({ recipients: 40 }))
  await until(service.dispatcher, 'settled', done(dbPath, 40))
  const log = gateway.requestLog
  const throttledAt = log.find((r) => r.status === '429')!.at
  const after = log.slice(log.findIndex((r) => r.status === '429') + 1)
  // A request already in flight may still land; every request started after the 429 waited.
  const started = after.filter((r) => r.at >= throttledAt + 50)
  t.ok(started.length > 0)
  t.ok(started.every((r) => r.at >= throttledAt + 1000), 'nothing new was sent during the pause')
  t.equal(gateway.referenceCounts().size, 40)
  t.ok([...gateway.referenceCounts().values()].every((n) => n === 1))
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => m.attempts), Array(40).fill(1), 'the throttled attempt was not counted')
  t.equal(service.dispatcher.state().halted, undefined)
})

t.test('503 without Retry-After pauses for the default', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_DEFAULT_RETRY_AFTER_SECONDS: '1' })
  gateway.script({ status: 503 })
  await sendCampaign(campaignBody({ recipients: 3 }))
  await until(service.dispatcher, 'settled', done(dbPath, 3))
  const [first, second] = gateway.requestLog
  t.equal(first!.status, '503')
  t.ok(second!.at - first!.at >= 1000, `resent after ${second!.at - first!.at} ms`)
})

t.test('an outage (500s and dropped connections) is outlasted: all delivered once, none lost', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_BATCH_SIZE: '100', SEND_MAX_ATTEMPTS: '1000' })
  gateway.script({ drop: true }, { drop: true })
  gateway.failFor(1500, { status: 500, body: { detail: 'Internal Server Error' } })
  await sendCampaign(campaignBody({ recipients: 1000 }))
  await until(service.dispatcher, 'settled', done(dbPath, 1000))
  t.ok((gateway.requestCounts.get('500') ?? 0) > 5, `${gateway.requestCounts.get('500')} requests failed during the outage`)
  t.equal(gateway.requestCounts.get('drop'), 2)
  const counts = gateway.referenceCounts()
  t.equal(counts.size, 1000)
  t.ok([...counts.values()].every((n) => n === 1), 'each exactly once: a 500 or a refused connection sent nothing')
  t.ok((await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
})

t.test('retries exhausted: Failed/SendTimeout with a queued report', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_MAX_ATTEMPTS: '3' })
  gateway.failFor(60_000, { status: 502 })
  await sendCampaign(campaignBody({ recipients: 4 }))
  await until(service.dispatcher, 'settled', done(dbPath, 4))
  const { messages, reports } = await inspectStoreAt(dbPath)
  t.same(messages.map((m) => [m.state, m.finalOutcome]), Array(4).fill(['failed', 'send-timeout']))
  t.match(messages[0]!.lastError, /gave up after 3 attempts: HTTP 502/)
  t.equal(reports.length, 4)
  t.same(messages.map((m) => m.attempts), [3, 3, 3, 3], 'each message was tried exactly SEND_MAX_ATTEMPTS times')
  t.ok(gateway.requestCounts.get('502')! >= 3, 'jitter may split the retries over more requests')
})

t.test('a timeout after the request was written is resent (at-least-once), within the batch', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_TIMEOUT_MS: '200', SEND_BATCH_SIZE: '50' })
  gateway.script({ delayMs: 400 })
  await sendCampaign(campaignBody({ recipients: 50 }))
  await until(service.dispatcher, 'settled', done(dbPath, 50))
  const counts = gateway.referenceCounts()
  t.equal(counts.size, 50, 'every message arrived')
  const twice = [...counts.values()].filter((n) => n > 1).length
  t.ok(twice <= 50, `${twice} sent twice, at most one request's worth`)
})

t.test('a future scheduledTime holds messages until then', async (t) => {
  const { gateway, dbPath, sendCampaign } = await startStack(t)
  const scheduledTime = Date.now() + 700
  await sendCampaign(campaignBody({ recipients: 20, scheduledTime }))
  await sendCampaign(campaignBody({ recipients: 5, requestId: 'now', scheduledTime: 0 }))
  await until(gateway, 'accepted', () => gateway.accepted.length === 25)
  const byTime = gateway.requestLog.filter((r) => r.status === '202')
  t.ok(byTime.some((r) => r.at < scheduledTime), 'the unscheduled campaign went at once')
  const scheduledRefs = new Set((await inspectStoreAt(dbPath)).messages.slice(0, 20).map((m) => m.reference))
  t.equal(scheduledRefs.size, 20)
  const sentBefore = gateway.requestLog.filter((r) => r.status === '202' && r.at < scheduledTime).reduce((n, r) => n + r.messages, 0)
  t.equal(sentBefore, 5, 'only the unscheduled messages were sent before the scheduled time')
})

t.test('a Retry-After of a year pauses for SEND_MAX_RETRY_AFTER_SECONDS only, then everything goes', { timeout: 20_000 }, async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_MAX_RETRY_AFTER_SECONDS: '1' })
  gateway.script({ status: 429, headers: { 'retry-after': '31536000' } })
  await sendCampaign(campaignBody({ recipients: 3 }))
  await until(service.dispatcher, 'settled', done(dbPath, 3))
  const [first, second] = gateway.requestLog
  t.equal(first!.status, '429')
  t.equal(second!.status, '202')
  t.ok(second!.at - first!.at >= 1000, `resent after the capped pause (${second!.at - first!.at} ms), not a year later`)
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => [m.state, m.attempts]), Array(3).fill(['submitted', 1]))
})

t.test('a 3xx from GatewayAPI: retried until it answers, no message failed, an error logged', async (t) => {
  const logs = logCapture()
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, {}, { logStream: logs.stream })
  gateway.script({ status: 302, headers: { location: 'https://login.example/' } })
  await sendCampaign(campaignBody({ recipients: 4 }))
  await until(service.dispatcher, 'settled', done(dbPath, 4))
  const { messages, reports } = await inspectStoreAt(dbPath)
  t.same(messages.map((m) => m.state), Array(4).fill('submitted'), 'not failed as refused by the provider')
  t.equal(reports.length, 0, 'no failure report queued for Optimove')
  t.equal(gateway.accepted.length, 4)
  const failures = logs.lines().map((l) => JSON.parse(l)).filter((l) => l.msg === 'provider request failed; retrying with backoff')
  t.equal(failures.length, 1)
  t.match(failures[0], { level: 50, reason: 'HTTP 302 redirect to https://login.example/: check GATEWAYAPI_BASE_URL' }, 'logged at error, with where it pointed')
})
