import { readFileSync } from 'node:fs'
import t from 'tap'
import { statusEnvelope } from '../../src/sim/gatewayapi-wire.js'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'

// GatewayAPI's whole status vocabulary, end to end: each status as a message's first final
// status and as a late one after another final status, and the delivery report Optimove gets.

/** The `status` enums of GatewayAPI's OpenAPI document (`SMSStatus`, `RCSStatus`), read from the copy the contract tests use. */
const OPENAPI_STATUSES: string[] = (() => {
  const schemas = JSON.parse(readFileSync(new URL('../fixtures/gatewayapi-openapi.json', import.meta.url), 'utf8')).components.schemas
  return [...new Set<string>([...schemas.SMSStatus.properties.status.enum, ...schemas.RCSStatus.properties.status.enum])]
})()

/** A status GatewayAPI may add one day: not final until we know what it means. */
const UNKNOWN_STATUS = 'NOT_YET_DEFINED'

type Expected = { status: string; subStatus: string } | null

/**
 * README's status mapping: the report a status causes as a message's first final status;
 * null for the statuses that only join the history. SKIPPED is final by GatewayAPI's state
 * diagram though the enum no longer lists it; BUFFERED and SCHEDULED are older spellings.
 */
const MAPPING: Record<string, Expected> = {
  DELIVERED: { status: 'Delivered', subStatus: 'Delivered' },
  ACCEPTED: { status: 'Delivered', subStatus: 'AcceptedByNetwork' },
  EXPIRED: { status: 'Undelivered', subStatus: 'Expired' },
  UNDELIVERABLE: { status: 'Undelivered', subStatus: 'Undeliverable' },
  REJECTED: { status: 'Failed', subStatus: 'Rejected' },
  DELETED: { status: 'Failed', subStatus: 'Deleted' },
  SKIPPED: { status: 'Undelivered', subStatus: 'Skipped' },
  ENROUTE: null,
  UNKNOWN: null,
  READ: null,
  BUFFERED: null,
  SCHEDULED: null,
  [UNKNOWN_STATUS]: null
}
const STATUSES = Object.keys(MAPPING)

/** The final status a late one follows: one whose report differs from every other status's. */
const firstFinalBefore = (late: string): string => late === 'REJECTED' ? 'DELIVERED' : 'REJECTED'

t.test('the table covers every status of GatewayAPI\'s OpenAPI enums', async (t) => {
  t.ok(OPENAPI_STATUSES.length >= 9, `the enums were read: ${OPENAPI_STATUSES.join(', ')}`)
  t.same(OPENAPI_STATUSES.filter((s) => !(s in MAPPING)), [], 'a status the document adds needs its line in MAPPING (and README\'s table)')
})

t.test('every status as the first final one, and as a late one: the report Optimove gets, once per message', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t)
  // Two messages per status: one gets it first, the other after another final status.
  await sendCampaign(campaignBody({ recipients: 2 * STATUSES.length }))
  await gateway.waitForAccepted(2 * STATUSES.length)
  await until(service.dispatcher, 'settled', async () => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted'))
  const stored = (await inspectStoreAt(dbPath)).messages
  const accepted = new Map(gateway.accepted.map((m) => [m.reference, m]))
  const reportRows = async (reference: string): Promise<number> => {
    const { messages, reports } = await inspectStoreAt(dbPath)
    const id = messages.find((m) => m.reference === reference)!.id
    return reports.filter((r) => r.messageId === id).length
  }
  const post = async (reference: string, status: string): Promise<void> => {
    const message = accepted.get(reference)!
    // The statuses outside the document's enums are built as GatewayAPI sends them, past the
    // simulator's contract check: they are outside the contract on purpose.
    const event = OPENAPI_STATUSES.includes(status) ? gateway.statusEvent(message, status) : statusEnvelope(message, status)
    const answer = await gateway.postWebhook(event)
    t.same([answer.status, answer.body], [200, { status: 'recorded' }], `${status} for ${reference} is recorded`)
  }

  const expected = new Map<string, { status: string; subStatus: string }>()
  for (const [i, status] of STATUSES.entries()) {
    const first = stored[2 * i]!.reference
    const late = stored[2 * i + 1]!.reference

    await post(first, status)
    const mapped = MAPPING[status] ?? null
    if (mapped === null) {
      t.equal(await reportRows(first), 0, `${status} first: not final, no report queued`)
      // Still open: the final status that follows is the one reported.
      await post(first, 'DELIVERED')
      expected.set(first, MAPPING.DELIVERED!)
    } else {
      t.equal(await reportRows(first), 1, `${status} first: final, its report queued`)
      expected.set(first, mapped)
    }

    const before = firstFinalBefore(status)
    await post(late, before)
    await post(late, status)
    t.equal(await reportRows(late), 1, `${status} after ${before}: still the one report`)
    expected.set(late, MAPPING[before]!)
  }

  const delivered = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => c.body as Record<string, any>)
  // Every report queued has reached Optimove (however many were queued: the checks below count them).
  await until(service.reports, 'settled', async () => {
    const queued = (await inspectStoreAt(dbPath)).reports
    return queued.every((r) => r.state === 'done') && delivered().length >= queued.length
  })
  const reports = delivered()
  t.equal(reports.length, expected.size, 'one report per message, no more')
  t.equal((await inspectStoreAt(dbPath)).reports.length, expected.size, 'one report row per message')
  const got = Object.fromEntries(reports.map((r) => [r.messageId, { status: r.type.status, subStatus: r.type.subStatus }]))
  for (const [i, status] of STATUSES.entries()) {
    const first = stored[2 * i]!.reference
    const late = stored[2 * i + 1]!.reference
    const reported = MAPPING[status] === null ? 'not final: the DELIVERED after it is what is reported' : `reported ${JSON.stringify(MAPPING[status])}`
    t.same(got[first], expected.get(first), `${status} as the first status: ${reported}`)
    t.same(got[late], expected.get(late), `${status} after ${firstFinalBefore(status)} changes nothing`)
  }
})
