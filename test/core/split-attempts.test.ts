import t from 'tap'
import type { ClaimedMessage, Store } from '../../src/core/store/store.js'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'

// A 422 that blames some messages of a request fails those and resends the others at once:
// the others were never taken by GatewayAPI, so the refused request must not cost them an attempt.

/** The recipient the simulated GatewayAPI refuses with a 422: campaignBody's second number. */
const REFUSED = 4520000001

/**
 * Spies on the dispatcher's claims: for each message (by reference), the attempt count of each
 * claim of it, as the store counts them.
 */
function recordClaims (store: Store): Map<string, number[]> {
  const attempts = new Map<string, number[]>()
  const claimDue = store.claimDue.bind(store)
  store.claimDue = async (now, limit, leaseMs) => {
    const claimed: ClaimedMessage[] = await claimDue(now, limit, leaseMs)
    for (const m of claimed) attempts.set(m.reference, [...(attempts.get(m.reference) ?? []), m.attempts])
    return claimed
  }
  return attempts
}

const settled = (dbPath: string) => async (): Promise<boolean> => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted' || m.state === 'failed')

t.test('SEND_MAX_ATTEMPTS=1: the siblings of a message refused with a 422 are still sent, not failed as out of attempts', async (t) => {
  const { optimove, gateway, service, dbPath, sendCampaign } = await startStack(t, { SEND_MAX_ATTEMPTS: '1' })
  gateway.rejectRecipients.add(REFUSED)
  await sendCampaign(campaignBody({ recipients: 4 }))
  await until(service.dispatcher, 'settled', settled(dbPath))

  const { messages } = await inspectStoreAt(dbPath)
  t.same(messages.map((m) => [m.state, m.finalOutcome]), [['submitted', null], ['failed', 'provider-rejected'], ['submitted', null], ['submitted', null]])
  t.same(gateway.requestLog.map((r) => r.status), ['422', '202'], 'the siblings were resent at once')
  t.same(gateway.accepted.map((m) => m.recipient).sort(), [4520000000, 4520000002, 4520000003])

  // Every report queued has reached Optimove (however many were queued: the check below counts them).
  await until(service.reports, 'settled', async () => {
    const queued = (await inspectStoreAt(dbPath)).reports
    return queued.every((r) => r.state === 'done') && optimove.received('delivery-report').length >= queued.length
  })
  t.same(optimove.received('delivery-report').map((c) => (c.body as any).type), [{ status: 'Failed', subStatus: 'ProviderRejected' }], 'one report, for the refused message only: no SendTimeout')
})

t.test('after a 422, the next claim of the resent siblings counts only the attempts they really made', async (t) => {
  const { gateway, service, dbPath, sendCampaign } = await startStack(t)
  const claims = recordClaims(service.store)
  gateway.rejectRecipients.add(REFUSED)
  // The first request is answered normally (the 422 for REFUSED); the siblings' resend gets a
  // 502, so that they go back to the queue and their next claim shows their attempt count.
  gateway.script({ delayMs: 0 }, { status: 502 })
  await sendCampaign(campaignBody({ recipients: 4 }))
  await until(service.dispatcher, 'settled', settled(dbPath))

  const [a, refused, b, c] = (await inspectStoreAt(dbPath)).messages.map((m) => m.reference)
  t.same(gateway.requestLog.slice(0, 2).map((r) => r.status), ['422', '502'])
  t.ok(gateway.requestLog.slice(2).every((r) => r.status === '202'), 'then the retries were taken (full jitter may spread them over several requests)')
  t.same(Object.fromEntries(claims), { [a!]: [1, 2], [refused!]: [1], [b!]: [1, 2], [c!]: [1, 2] },
    'each sibling was claimed twice: attempt 1 shared by the 422 and the resend, attempt 2 the retry after the 502; the 422 cost nothing')
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => m.state), ['submitted', 'failed', 'submitted', 'submitted'])
})
