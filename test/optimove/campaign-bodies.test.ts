import t, { type Test } from 'tap'
import { buildTestApp, campaignHeaders, testConfig } from '../helper.js'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import type { FinalOutcome } from '../../src/core/outcomes.js'

/**
 * Real-world campaign bodies: every tolerated variation is accepted with the right counts and
 * the right stored and reported outcomes (read through the store's interface); only a body that
 * is not a JSON object, or a `recipients` that is not an array, is refused.
 */

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0)
const LATER = NOW + 3_600_000
const clock = { now: () => NOW }

const good = (i: number) => ({ message: `Hi ${i}`, mobileNumber: `+45 2000000${i}`, customerId: `c${i}` })
const bad = { message: 'Hi', mobileNumber: 'not a number', customerId: 'bad' }
const BAD_REPORT: Report = ['invalid-recipient', 'not a number', 'bad']
const base = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  batchId: 'b-1', requestId: 'r-1', senderId: 'Shop', metadata: { campaignId: 'c-1' }, recipients: [good(1), good(2)], ...over
})
const withSchedule = (scheduledTime: unknown) => base({ metadata: { campaignId: 'c-1', scheduledTime } })

/** A delivery report as the outbox holds it: outcome, `mobileNumber` echoed, `customerId`. */
type Report = [FinalOutcome, string, string]
/** A queued message as the dispatcher would claim it: MSISDN and sender. */
type Queued = [string, string]

interface BodyCase {
  name: string
  /** An object is sent as JSON; a string is sent as it is (exact bytes). */
  body: unknown
  env?: Record<string, string>
  accepted: number
  rejected: number
  answer?: { batchId?: string; requestId?: string }
  queued?: Queued[]
  reports?: Report[]
  /** The error details of every report. */
  reason?: RegExp
  /** The metadata every report carries, exactly. */
  metadataJson?: string
  /** When the first message becomes due. */
  dueAt?: number
}

const Q1: Queued = ['4520000001', 'Shop']
const Q2: Queued = ['4520000002', 'Shop']

const CASES: BodyCase[] = [
  { name: 'the documented body', body: base(), accepted: 2, rejected: 0, answer: { batchId: 'b-1', requestId: 'r-1' }, queued: [Q1, Q2], dueAt: NOW },
  // Optional strings: null or absent read as empty.
  { name: 'batchId null', body: base({ batchId: null }), accepted: 2, rejected: 0, answer: { batchId: '' }, queued: [Q1, Q2] },
  { name: 'batchId absent', body: base({ batchId: undefined }), accepted: 2, rejected: 0, answer: { batchId: '' } },
  { name: 'batchId a number', body: base({ batchId: 7 }), accepted: 2, rejected: 0, answer: { batchId: '7' } },
  { name: 'requestId null', body: base({ requestId: null }), accepted: 2, rejected: 0, answer: { requestId: '' } },
  { name: 'requestId absent', body: base({ requestId: undefined }), accepted: 2, rejected: 0, answer: { requestId: '' } },
  { name: 'senderId null: the registration\'s sender', body: base({ senderId: null }), accepted: 2, rejected: 0, queued: [['4520000001', 'Brand'], ['4520000002', 'Brand']] },
  { name: 'senderId absent: the registration\'s sender', body: base({ senderId: undefined }), accepted: 2, rejected: 0, queued: [['4520000001', 'Brand'], ['4520000002', 'Brand']] },
  { name: 'senderId empty: the registration\'s sender', body: base({ senderId: '' }), accepted: 2, rejected: 0, queued: [['4520000001', 'Brand'], ['4520000002', 'Brand']] },
  { name: 'customerId null or a number', body: base({ recipients: [{ ...good(1), customerId: null }, { ...bad, customerId: 7 }] }), accepted: 1, rejected: 1, reports: [['invalid-recipient', 'not a number', '7']] },
  { name: 'customerId absent', body: base({ recipients: [{ ...bad, customerId: undefined }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', 'not a number', '']] },
  // Metadata: absent or null → {}; any other value kept verbatim.
  { name: 'metadata absent: reports carry {}', body: base({ metadata: undefined, recipients: [bad] }), accepted: 0, rejected: 1, reports: [BAD_REPORT], metadataJson: '{}' },
  { name: 'metadata null: reports carry {}', body: base({ metadata: null, recipients: [bad] }), accepted: 0, rejected: 1, reports: [BAD_REPORT], metadataJson: '{}' },
  { name: 'metadata an array: kept verbatim', body: `{"batchId":"b","metadata":[1, "two"],"recipients":[${JSON.stringify(bad)}]}`, accepted: 0, rejected: 1, metadataJson: '[1, "two"]' },
  { name: 'metadata a string: kept verbatim', body: `{"batchId":"b","metadata":"plain","recipients":[${JSON.stringify(bad)}]}`, accepted: 0, rejected: 1, metadataJson: '"plain"' },
  { name: 'metadata with unknown fields, kept byte for byte', body: `{"batchId":"b","metadata":{ "x" : 12345678901234567890 },"recipients":[${JSON.stringify(bad)}],"extra":{"a":[null]}}`, accepted: 0, rejected: 1, metadataJson: '{ "x" : 12345678901234567890 }' },
  // Recipients empty, absent or null: nothing to send, still a 200.
  { name: 'recipients empty', body: base({ recipients: [] }), accepted: 0, rejected: 0, queued: [], reports: [] },
  { name: 'recipients absent', body: base({ recipients: undefined }), accepted: 0, rejected: 0, queued: [], reports: [] },
  { name: 'recipients null', body: base({ recipients: null }), accepted: 0, rejected: 0, queued: [], reports: [] },
  { name: 'an empty object', body: {}, accepted: 0, rejected: 0, answer: { batchId: '', requestId: '' } },
  // scheduledTime: epoch ms as a number or numeric string, or ISO-8601 (no zone = UTC).
  { name: 'scheduledTime epoch ms', body: withSchedule(LATER), accepted: 2, rejected: 0, dueAt: LATER },
  { name: 'scheduledTime a numeric string', body: withSchedule(String(LATER)), accepted: 2, rejected: 0, dueAt: LATER },
  { name: 'scheduledTime ISO with Z', body: withSchedule(new Date(LATER).toISOString()), accepted: 2, rejected: 0, dueAt: LATER },
  { name: 'scheduledTime ISO without zone is UTC', body: withSchedule(new Date(LATER).toISOString().slice(0, 19)), accepted: 2, rejected: 0, dueAt: LATER },
  { name: 'scheduledTime ISO with an offset', body: withSchedule('2025-01-01T15:00:00+02:00'), accepted: 2, rejected: 0, dueAt: LATER },
  { name: 'scheduledTime in the past: now', body: withSchedule(NOW - 1000), accepted: 2, rejected: 0, dueAt: NOW },
  { name: 'scheduledTime null: now', body: withSchedule(null), accepted: 2, rejected: 0, dueAt: NOW },
  { name: 'scheduledTime unreadable: now', body: withSchedule('tomorrow'), accepted: 2, rejected: 0, dueAt: NOW },
  // A recipient of the wrong type fails alone.
  { name: 'a null recipient', body: base({ recipients: [good(1), null] }), accepted: 1, rejected: 1, queued: [Q1], reports: [['invalid-recipient', '', '']], reason: /not an object/ },
  { name: 'a recipient that is a string', body: base({ recipients: ['4520000002', good(1)] }), accepted: 1, rejected: 1, queued: [Q1], reports: [['invalid-recipient', '', '']] },
  { name: 'a recipient that is an array', body: base({ recipients: [[good(2)]] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '', '']] },
  { name: 'mobileNumber null', body: base({ recipients: [{ ...good(1), mobileNumber: null }, good(2)] }), accepted: 1, rejected: 1, queued: [Q2], reports: [['invalid-recipient', '', 'c1']], reason: /mobileNumber/ },
  { name: 'mobileNumber a JSON number: its digits echoed', body: base({ recipients: [{ ...good(1), mobileNumber: 4520000001 }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '4520000001', 'c1']], reason: /mobileNumber/ },
  { name: 'mobileNumber missing', body: base({ recipients: [{ message: 'Hi', customerId: 'c1' }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '', 'c1']] },
  { name: 'message missing', body: base({ recipients: [{ mobileNumber: '+45 20000001', customerId: 'c1' }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '+45 20000001', 'c1']], reason: /message/ },
  { name: 'message a number', body: base({ recipients: [{ ...good(1), message: 42 }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '+45 20000001', 'c1']] },
  { name: 'message null', body: base({ recipients: [{ ...good(1), message: null }, good(2)] }), accepted: 1, rejected: 1, reports: [['invalid-recipient', '+45 20000001', 'c1']] },
  { name: 'message blank', body: base({ recipients: [{ ...good(1), message: '  ' }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '+45 20000001', 'c1']], reason: /empty/ },
  { name: 'unknown fields on a recipient', body: base({ recipients: [{ ...good(1), channel: 'sms', extra: { a: 1 } }] }), accepted: 1, rejected: 0, queued: [Q1] },
  // Numbers: national ones need the registration's default country; reports echo them as sent.
  { name: 'a national number with DEFAULT_COUNTRY', env: { DEFAULT_COUNTRY: 'DK' }, body: base({ recipients: [{ ...good(1), mobileNumber: '20 00 00 01' }] }), accepted: 1, rejected: 0, queued: [Q1] },
  { name: 'a national number without a default country', body: base({ recipients: [{ ...good(1), mobileNumber: '20 00 00 01' }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '20 00 00 01', 'c1']], reason: /default country/ },
  { name: 'digits with a country code, no plus', body: base({ recipients: [{ ...good(1), mobileNumber: '4520000001' }] }), accepted: 1, rejected: 0, queued: [Q1] },
  { name: 'a decimal number', body: base({ recipients: [{ ...good(1), mobileNumber: '4520000001.0' }] }), accepted: 0, rejected: 1, reports: [['invalid-recipient', '4520000001.0', 'c1']], reason: /decimal/ },
  // Senders.
  { name: 'a risky sender is sent as it is', body: base({ senderId: 'Shop & Co' }), accepted: 2, rejected: 0, queued: [['4520000001', 'Shop & Co'], ['4520000002', 'Shop & Co']] },
  { name: 'a numeric sender loses its +', body: base({ senderId: '+4512345678' }), accepted: 2, rejected: 0, queued: [['4520000001', '4512345678'], ['4520000002', '4512345678']] },
  { name: 'a sender is trimmed', body: base({ senderId: ' Shop ' }), accepted: 2, rejected: 0, queued: [Q1, Q2] },
  { name: 'a sender over 18 characters fails every message', body: base({ senderId: 'ABCDEFGHIJKLMNOPQRS' }), accepted: 0, rejected: 2, queued: [], reports: [['invalid-sender', '+45 20000001', 'c1'], ['invalid-sender', '+45 20000002', 'c2']], reason: /not 3-18 characters/ },
  { name: 'a blank sender fails every message', body: base({ senderId: '   ', recipients: [good(1)] }), accepted: 0, rejected: 1, reports: [['invalid-sender', '+45 20000001', 'c1']], reason: /empty/ },
  { name: 'a bad recipient stays InvalidRecipient under a bad sender', body: base({ senderId: 'AB', recipients: [bad, good(1)] }), accepted: 0, rejected: 2, reports: [BAD_REPORT, ['invalid-sender', '+45 20000001', 'c1']] }
]

const suffix = (reference: string): number => Number(reference.slice(reference.lastIndexOf('-') + 1))

async function post (t: Test, body: unknown, env: Record<string, string> = {}) {
  const config = testConfig(env)
  const built = buildTestApp(t, { config, clock })
  const raw = typeof body === 'string' ? body : JSON.stringify(body)
  const res = await built.app.inject({ method: 'POST', url: CAMPAIGN_SEND_PATH, payload: raw, headers: campaignHeaders(raw, config) })
  return { ...built, res }
}

for (const c of CASES) {
  t.test(`tolerated: ${c.name}`, async (t) => {
    const { res, store } = await post(t, c.body, c.env)
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json(), { message: 'Campaign accepted', accepted: c.accepted, rejected: c.rejected, ...c.answer })
    t.notOk('duplicate' in res.json())
    const stats = await store.stats()
    t.same([stats.batches, stats.messages.queued, stats.messages.failed], [1, c.accepted, c.rejected], 'stored: one batch, queued and failed messages')
    t.equal(stats.reports.pending, c.rejected, 'a report queued for every failed message')
    if (c.dueAt !== undefined) t.equal(await store.nextDueAt(), c.dueAt, 'due when scheduled')
    const reports = (await store.claimReports(NOW, 100, 60_000)).sort((a, b) => suffix(a.reference) - suffix(b.reference))
    if (c.reports !== undefined) t.same(reports.map((r) => [r.outcome, r.mobileNumber, r.customerId]), c.reports, 'reported outcomes')
    if (c.reason !== undefined) for (const r of reports) t.match(r.error?.details, c.reason, 'the reason is reported')
    if (c.metadataJson !== undefined) {
      t.ok(reports.length > 0)
      for (const r of reports) t.equal(r.metadataJson, c.metadataJson, 'metadata in the report')
    }
    if (c.answer?.batchId !== undefined) for (const r of reports) t.equal(r.batchId, c.answer.batchId)
    if (c.queued !== undefined) {
      const claimed = (await store.claimDue(LATER + 1, 100, 60_000)).sort((a, b) => suffix(a.reference) - suffix(b.reference))
      t.same(claimed.map((m) => [m.msisdn, m.senderId]), c.queued, 'queued for sending: MSISDN and sender')
    }
  })
}

const PROBLEM = { title: 'One or more validation errors occurred.', status: 400 }
const REFUSED: Array<[string, string, string]> = [
  ['[]', '$', 'The request body must be a JSON object.'],
  ['[{"batchId":"b"}]', '$', 'The request body must be a JSON object.'],
  ['"text"', '$', 'The request body must be a JSON object.'],
  ['null', '$', 'The request body must be a JSON object.'],
  ['42', '$', 'The request body must be a JSON object.'],
  ['true', '$', 'The request body must be a JSON object.'],
  ['{"batchId":"b","recipients":"4520000001"}', 'Recipients', 'The Recipients field must be an array.'],
  ['{"batchId":"b","recipients":{"0":{"mobileNumber":"4520000001","message":"Hi"}}}', 'Recipients', 'The Recipients field must be an array.'],
  ['{"batchId":"b","recipients":5}', 'Recipients', 'The Recipients field must be an array.'],
  ['{"batchId":"b","recipients":false}', 'Recipients', 'The Recipients field must be an array.']
]

for (const [raw, field, message] of REFUSED) {
  t.test(`refused with Optimove's error shape: ${raw}`, async (t) => {
    const { res, store } = await post(t, raw)
    t.equal(res.statusCode, 400)
    t.same(res.json(), { ...PROBLEM, errors: { [field]: [message] } })
    t.equal((await store.stats()).batches, 0, 'nothing stored')
  })
}
