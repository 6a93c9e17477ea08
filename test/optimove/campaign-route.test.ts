import t from 'tap'
import { buildTestApp, campaignBody, campaignHeaders, inspectStoreAt, testConfig } from '../helper.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'

const fixedClock = { now: () => 1_750_000_000_000 }

async function metricsText (app: ReturnType<typeof buildTestApp>['app']): Promise<string> {
  return (await app.inject({ method: 'GET', url: '/metrics' })).body
}

function post (app: ReturnType<typeof buildTestApp>['app'], raw: string, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: CAMPAIGN_SEND_PATH, payload: raw, headers })
}

t.test('accepted and durably stored: 200 with counts, every recipient a queued message', async (t) => {
  const { app, config, dbPath } = buildTestApp(t, { clock: fixedClock })
  const raw = JSON.stringify(campaignBody({ recipients: 3 }))
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { message: 'Campaign accepted', batchId: 'batch-1', requestId: 'request-1', accepted: 3, rejected: 0 })
  const db = await inspectStoreAt(dbPath)
  t.equal(db.batches.length, 1)
  t.same(db.messages.map((m) => [m.mobileNumber, m.customerId, m.state]), [
    ['4520000000', 'customer-0', 'queued'],
    ['4520000001', 'customer-1', 'queued'],
    ['4520000002', 'customer-2', 'queued']
  ])
  t.equal(new Set(db.messages.map((m) => m.reference)).size, 3, 'each message has its own reference')
  // scheduledTime is in the past relative to the clock: send now.
  t.equal(db.messages[0]!.nextAttemptAt, fixedClock.now())
})

t.test('a 10,000-recipient campaign is stored whole; the same request again is a duplicate', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = JSON.stringify(campaignBody({ recipients: 10_000 }))
  t.ok(raw.length > 1_000_000, `body is ${raw.length} bytes`)
  const first = await post(app, raw, campaignHeaders(raw, config))
  t.equal(first.statusCode, 200)
  t.equal(first.json().accepted, 10_000)
  t.notOk('duplicate' in first.json())
  const again = await post(app, raw, campaignHeaders(raw, config))
  t.equal(again.statusCode, 200)
  t.same(again.json(), { ...first.json(), duplicate: true })
  t.equal((await inspectStoreAt(dbPath)).messages.length, 10_000)
})

t.test('the key is (requestId, batchId): another batch of the request is new; the same batch with another body is a counted conflict', async (t) => {
  const { app, admin, config, dbPath } = buildTestApp(t)
  const raw1 = JSON.stringify(campaignBody({ recipients: 2, requestId: 'req-A', batchId: 'b-1' }))
  const raw2 = JSON.stringify(campaignBody({ recipients: 5, requestId: 'req-A', batchId: 'b-2' }))
  const changed = JSON.stringify(campaignBody({ recipients: 4, requestId: 'req-A', batchId: 'b-1' }))
  t.notOk('duplicate' in (await post(app, raw1, campaignHeaders(raw1, config))).json())
  const second = await post(app, raw2, campaignHeaders(raw2, config))
  t.match(second.json(), { accepted: 5, rejected: 0 })
  t.notOk('duplicate' in second.json(), 'a second batch of the same request is sent')
  const conflict = await post(app, changed, campaignHeaders(changed, config))
  t.equal(conflict.statusCode, 200)
  t.equal(conflict.json().duplicate, true)
  t.equal(conflict.json().accepted, 2, 'counts are those of the first acceptance')
  t.equal((await inspectStoreAt(dbPath)).messages.length, 7)
  const metrics = await metricsText(admin)
  t.match(metrics, /bridge_campaign_conflicts_total\{registration="default"\} 1/)
  t.match(metrics, /bridge_campaigns_total\{registration="default",outcome="duplicate"\} 1/)
})

t.test('without requestId the batchId is the key; without both, the body hash', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const byBatch = campaignBody({ recipients: 1, requestId: '', batchId: 'only-batch' })
  const byBatchOtherText = { ...byBatch, recipients: [{ message: 'other', mobileNumber: '4520000000', customerId: 'c' }] }
  const autoReply = campaignBody({ recipients: 1, requestId: '', batchId: '' })
  const otherAutoReply = { ...autoReply, recipients: [{ message: 'Different reply', mobileNumber: '4520000009', customerId: 'c9' }] }
  const answers = []
  for (const body of [byBatch, byBatchOtherText, autoReply, autoReply, otherAutoReply]) {
    const raw = JSON.stringify(body)
    answers.push((await post(app, raw, campaignHeaders(raw, config))).json().duplicate === true)
  }
  t.same(answers, [false, true, false, true, false])
  t.equal((await inspectStoreAt(dbPath)).batches.length, 3)
})

t.test('an auto reply (empty batchId, brandId, campaignId) is accepted', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const body = campaignBody({ recipients: 1, batchId: '' })
  Object.assign(body.metadata as object, { brandId: '', campaignId: '' })
  const raw = JSON.stringify(body)
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.equal(res.json().batchId, '')
  t.equal((await inspectStoreAt(dbPath)).messages.length, 1)
})

t.test('unknown fields are tolerated and metadata is kept verbatim, unknown fields included', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const body = campaignBody({ recipients: 1 })
  const metadata = { ...(body.metadata as object), futureField: { nested: [1, 'two', null] }, isHashed: true }
  const raw = JSON.stringify({ ...body, metadata, somethingNew: 'x', recipients: [{ ...(body.recipients as object[])[0], extra: 1 }] })
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.same(JSON.parse((await inspectStoreAt(dbPath)).batches[0]!.metadataJson), metadata)
})

t.test('metadata is stored byte for byte: big integers, 1e400, duplicate keys, whitespace and escapes as sent', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const metadata = '{ "campaignId":"c-1",\n\t"big": 12345678901234567890, "huge":1e400 , "a":1,"a":2,\n "text":"quote \\" backslash \\\\ ünï 😀","scheduledTime" : 1700000000000 }'
  const recipients = JSON.stringify(campaignBody({ recipients: 1 }).recipients)
  // The first metadata member is overridden by the last, as JSON.parse does; its key is spelled with an escape.
  const raw = `{"batchId":"b-1","metadata":{"first":true},"recipients":${recipients},"metad\\u0061ta":${metadata} ,"requestId":"r-1"}`
  t.same(JSON.parse(raw).metadata.text, 'quote " backslash \\ ünï 😀', 'the test body is what it claims')
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.equal((await inspectStoreAt(dbPath)).batches[0]!.metadataJson, metadata)
})

t.test('metadata 10,000 levels deep is accepted and stored whole (no recursion anywhere)', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const deep = '['.repeat(10_000) + ']'.repeat(10_000)
  const metadata = `{"deep":${deep},"scheduledTime":1}`
  const recipients = JSON.stringify(campaignBody({ recipients: 1 }).recipients)
  const raw = `{"batchId":"b","metadata":${metadata},"recipients":${recipients},"extra":${deep}}`
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.equal((await inspectStoreAt(dbPath)).batches[0]!.metadataJson, metadata)
})

t.test('400: metadata over METADATA_LIMIT_BYTES is refused as invalid; exactly at the limit it is accepted', async (t) => {
  const config = testConfig({ METADATA_LIMIT_BYTES: '1024' })
  const { app, admin, dbPath } = buildTestApp(t, { config })
  const recipients = JSON.stringify(campaignBody({ recipients: 1 }).recipients)
  const metadataOf = (bytes: number): string => {
    const head = '{"scheduledTime":1,"pad":"'
    return head + 'é'.repeat((bytes - head.length - 2) / 2) + '"}'
  }
  const body = (metadata: string, requestId: string) => `{"batchId":"b","requestId":"${requestId}","metadata":${metadata},"recipients":${recipients}}`
  t.equal(Buffer.byteLength(metadataOf(1024)), 1024)
  const over = body(metadataOf(1026), 'over')
  const refused = await post(app, over, campaignHeaders(over, config))
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), {
    title: 'One or more validation errors occurred.',
    status: 400,
    errors: { Metadata: ['The Metadata field is 1026 bytes; at most 1024 bytes are accepted.'] }
  })
  t.match(await metricsText(admin), /bridge_campaign_refusals_total\{reason="invalid"\} 1/)
  t.equal((await inspectStoreAt(dbPath)).batches.length, 0, 'nothing stored')
  const atLimit = body(metadataOf(1024), 'at-limit')
  t.equal((await post(app, atLimit, campaignHeaders(atLimit, config))).statusCode, 200)
  t.equal((await inspectStoreAt(dbPath)).batches[0]!.metadataJson, metadataOf(1024))
})

t.test('400: a 30 MB metadata under the body limit is refused and nothing is stored', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const recipients = JSON.stringify(campaignBody({ recipients: 2 }).recipients)
  const raw = `{"batchId":"b","metadata":{"scheduledTime":1,"pad":"${'x'.repeat(30_000_000)}"},"recipients":${recipients}}`
  t.ok(raw.length < config.campaignBodyLimitBytes, 'the body itself is within CAMPAIGN_BODY_LIMIT_BYTES')
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 400)
  t.same(Object.keys(res.json().errors), ['Metadata'])
  t.match(res.json().errors.Metadata[0], /at most 65536 bytes/)
  const db = await inspectStoreAt(dbPath)
  t.same([db.batches.length, db.messages.length, db.reports.length], [0, 0, 0], 'nothing stored')
})

t.test('a future scheduledTime holds the messages until then', async (t) => {
  const { app, config, dbPath } = buildTestApp(t, { clock: fixedClock })
  const later = fixedClock.now() + 3_600_000
  const raw = JSON.stringify(campaignBody({ recipients: 2, scheduledTime: later }))
  await post(app, raw, campaignHeaders(raw, config))
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => m.nextAttemptAt), [later, later])
})

t.test('the sender falls back to the registration SENDER_ID when the campaign has none', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = JSON.stringify({ ...campaignBody({ recipients: 1 }), senderId: '' })
  await post(app, raw, campaignHeaders(raw, config))
  t.equal((await inspectStoreAt(dbPath)).batches[0]!.senderId, config.registrations[0]!.senderId)
})

t.test('a campaign sender GatewayAPI would refuse: accepted, every message failed as InvalidSender and reported', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = JSON.stringify({ ...campaignBody({ recipients: 2 }), senderId: 'Brand With Far Too Many Letters' })
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { accepted: 0, rejected: 2 })
  const db = await inspectStoreAt(dbPath)
  t.same(db.messages.map((m) => [m.state, m.finalOutcome]), [['failed', 'invalid-sender'], ['failed', 'invalid-sender']])
  t.match(db.messages[0]!.lastError, /sender id "Brand With Far Too Many Letters" is not 3-18 characters/)
  t.equal(db.reports.length, 2)
})

t.test('a sender GatewayAPI takes at a risk of replacement (spaces, over 11 letters) is sent as it is', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = JSON.stringify({ ...campaignBody({ recipients: 2 }), senderId: 'Brand With Spaces' })
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.match(res.json(), { accepted: 2, rejected: 0 })
  const db = await inspectStoreAt(dbPath)
  t.equal(db.batches[0]!.senderId, 'Brand With Spaces')
  t.same(db.messages.map((m) => m.state), ['queued', 'queued'])
})

t.test('unusable recipients are accepted as failed messages with a reason and a queued report', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const body = campaignBody({ recipients: 4 })
  const recipients = body.recipients as Array<Record<string, string>>
  recipients[1]!.mobileNumber = 'not a number'
  recipients[2]!.message = '   '
  recipients[3]!.mobileNumber = '0045-2000-0003'
  const raw = JSON.stringify(body)
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { accepted: 2, rejected: 2 })
  const db = await inspectStoreAt(dbPath)
  t.same(db.messages.map((m) => [m.state, m.finalOutcome, m.mobileNumber]), [
    ['queued', null, '4520000000'],
    ['failed', 'invalid-recipient', 'not a number'],
    ['failed', 'invalid-recipient', '4520000002'],
    ['queued', null, '4520000003']
  ])
  t.match(db.messages[1]!.lastError, /mobile number/)
  t.match(db.messages[2]!.lastError, /empty/)
  t.equal(db.reports.length, 2, 'each failed message has its delivery report queued in the same transaction')
  t.same(db.reports.map((r) => r.outcome), ['invalid-recipient', 'invalid-recipient'])
})

t.test('401: missing or wrong X-API-Key, before the body is read', async (t) => {
  const { app, config } = buildTestApp(t)
  const raw = JSON.stringify(campaignBody())
  for (const key of [undefined, '', 'wrong-key', config.registrations[0]!.aggregatorApiKey + 'x']) {
    const res = await post(app, raw, campaignHeaders(raw, config, { 'x-api-key': key }))
    t.equal(res.statusCode, 401, `key ${String(key)}`)
    t.same(res.json(), { message: 'missing or invalid X-API-Key', code: 'UNAUTHORIZED' })
  }
})

t.test('401: missing, malformed or wrong signature', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = JSON.stringify(campaignBody())
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'missing-header'],
    ['sha1=' + 'a'.repeat(40), 'malformed-header'],
    ['sha256=zz', 'malformed-header'],
    ['sha256=' + 'a'.repeat(64), 'mismatch'],
    [campaignHeaders(raw.replace('batch-1', 'batch-2'), config)['x-hub-signature'], 'mismatch']
  ]
  for (const [signature, reason] of cases) {
    const res = await post(app, raw, campaignHeaders(raw, config, { 'x-hub-signature': signature }))
    t.equal(res.statusCode, 401, String(signature))
    t.same(res.json(), { message: `x-hub-signature refused: ${reason}`, code: 'UNAUTHORIZED' })
  }
  t.equal((await inspectStoreAt(dbPath)).batches.length, 0, 'nothing stored')
})

t.test('400: invalid JSON, in Optimove\'s validation-error shape', async (t) => {
  const { app, config } = buildTestApp(t)
  const raw = '{"batchId": "b", "recipients": ['
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 400)
  t.same(res.json(), { title: 'One or more validation errors occurred.', status: 400, errors: { $: ['The request body is not valid JSON.'] } })
})

t.test('wrong types are no longer 400s: each bad recipient fails alone; a non-array recipients is named as Optimove does', async (t) => {
  const { app, admin, config, dbPath } = buildTestApp(t)
  const body = campaignBody({ recipients: 5 })
  const recipients = body.recipients as Array<Record<string, unknown>>
  delete recipients[3]!.mobileNumber
  recipients[4]!.message = 42
  delete body.batchId
  ;(body.metadata as Record<string, unknown>).scheduledTime = 'tomorrow'
  const raw = JSON.stringify(body)
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { batchId: '', accepted: 3, rejected: 2 })
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => m.finalOutcome), [null, null, null, 'invalid-recipient', 'invalid-recipient'])

  const notArray = JSON.stringify({ ...campaignBody(), recipients: { mobileNumber: '4520000001' } })
  const refused = await post(app, notArray, campaignHeaders(notArray, config))
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), { title: 'One or more validation errors occurred.', status: 400, errors: { Recipients: ['The Recipients field must be an array.'] } })
  t.match(await metricsText(admin), /bridge_campaign_refusals_total\{reason="invalid"\} 1/)
})

t.test('400: not an object at all; an empty recipients list is a 200 with nothing to send', async (t) => {
  const { app, config } = buildTestApp(t)
  for (const raw of ['[]', '"text"', 'null', '42']) {
    const res = await post(app, raw, campaignHeaders(raw, config))
    t.equal(res.statusCode, 400, raw)
    t.same(res.json(), { title: 'One or more validation errors occurred.', status: 400, errors: { $: ['The request body must be a JSON object.'] } })
  }
  const empty = JSON.stringify({ ...campaignBody(), recipients: [] })
  const res = await post(app, empty, campaignHeaders(empty, config))
  t.equal(res.statusCode, 200)
  t.match(res.json(), { accepted: 0, rejected: 0 })
})

t.test('413: a body over the configured limit names that limit, closes the connection and is counted', async (t) => {
  const config = testConfig({ CAMPAIGN_BODY_LIMIT_BYTES: '2048' })
  const { app, admin, dbPath } = buildTestApp(t, { config })
  const raw = JSON.stringify(campaignBody({ recipients: 50 }))
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 413)
  t.same(res.json(), { message: 'the body is larger than the limit of 2048 bytes', code: 'PAYLOAD_TOO_LARGE' })
  t.equal(res.headers.connection, 'close')
  t.match(await metricsText(admin), /bridge_campaign_refusals_total\{reason="too-large"\} 1/)
  t.equal((await inspectStoreAt(dbPath)).batches.length, 0, 'nothing stored')
})

t.test('415: a body that is not JSON, text/plain included', async (t) => {
  const { app, config, dbPath } = buildTestApp(t)
  const raw = 'batchId=1'
  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'text/plain; charset=utf-8', 'application/xml', 'multipart/form-data; boundary=x']) {
    const res = await post(app, raw, campaignHeaders(raw, config, { 'content-type': type }))
    t.equal(res.statusCode, 415, type)
    t.same(res.json(), { message: 'the body must be application/json', code: 'UNSUPPORTED_MEDIA_TYPE' }, type)
  }
  const json = JSON.stringify(campaignBody())
  const untyped = await post(app, json, campaignHeaders(json, config, { 'content-type': undefined }))
  t.equal(untyped.statusCode, 415, 'a body without a content type')
  t.equal((await inspectStoreAt(dbPath)).batches.length, 0, 'nothing stored')
})

t.test('503: the store is unavailable, so Optimove may retry', async (t) => {
  const dbPath = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path: dbPath })
  const { app, config } = buildTestApp(t, { store })
  await store.close()
  const raw = JSON.stringify(campaignBody())
  const res = await post(app, raw, campaignHeaders(raw, config))
  t.equal(res.statusCode, 503)
  t.same(res.json(), { message: 'the campaign could not be stored; retry later', code: 'SERVICE_UNAVAILABLE' })
})

t.test('unknown routes answer 404 JSON', async (t) => {
  const { app } = buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/nope' })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})
