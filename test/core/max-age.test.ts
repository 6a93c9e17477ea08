import t, { type Test } from 'tap'
import type { Clock } from '../../src/lib/clock.js'
import { campaignBody, inspectStoreAt, startStack, until } from '../helper.js'

// SEND_MAX_AGE_SECONDS: a message due for longer than this is ended as Failed/SendTimeout
// when it is next claimed, and never sent. The service runs on a clock the test moves ahead,
// against the simulated GatewayAPI and Optimove.

const MAX_AGE_MS = 86_400_000 // SEND_MAX_AGE_SECONDS' default
const HOUR_MS = 3_600_000

/**
 * The stack with the service on a clock that follows real time from an offset: `advance(ms)`
 * jumps it ahead, so that a day passes for the service at once.
 */
async function startStackOnMovableClock (t: Test) {
  let offset = 0
  const clock: Clock = { now: () => Date.now() + offset }
  const stack = await startStack(t, { SEND_MAX_AGE_SECONDS: String(MAX_AGE_MS / 1000) }, { clock })
  return { ...stack, clock, advance: (ms: number) => { offset += ms } }
}

type Stack = Awaited<ReturnType<typeof startStackOnMovableClock>>

const ended = (dbPath: string) => async (): Promise<boolean> => (await inspectStoreAt(dbPath)).messages.every((m) => m.state === 'submitted' || m.state === 'failed')

/** The delivery reports Optimove took, once every report queued has reached it (the checks count them). */
async function reportsAtOptimove ({ optimove, service, dbPath }: Stack): Promise<Array<Record<string, any>>> {
  const taken = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => c.body as Record<string, any>)
  await until(service.reports, 'settled', async () => {
    const queued = (await inspectStoreAt(dbPath)).reports
    return queued.every((r) => r.state === 'done') && taken().length >= queued.length
  })
  return taken()
}

t.test('a batch first claimed past the max age is failed as SendTimeout and never sent; a younger one is sent', async (t) => {
  const stack = await startStackOnMovableClock(t)
  const { gateway, service, dbPath, clock, sendCampaign, advance } = stack
  // Both held by their scheduled time; the old one becomes due two minutes before the young one.
  const dueAt = clock.now() + HOUR_MS
  t.match((await sendCampaign(campaignBody({ recipients: 3, requestId: 'old', scheduledTime: dueAt }))).body, { accepted: 3 })
  t.match((await sendCampaign(campaignBody({ recipients: 2, requestId: 'young', scheduledTime: dueAt + 120_000 }))).body, { accepted: 2 })
  const [old1, old2, old3, young1, young2] = (await inspectStoreAt(dbPath)).messages.map((m) => m.reference)

  // The service sees a day and an hour go by: the old batch has been due for longer than the max age.
  advance(HOUR_MS + MAX_AGE_MS + 1000)
  service.dispatcher.wake()
  await until(service.dispatcher, 'settled', ended(dbPath))

  t.same(gateway.accepted.map((m) => m.reference).sort(), [young1, young2].sort(), 'only the young batch reached GatewayAPI')
  t.same(gateway.requestLog.map((r) => r.status), ['202'])
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => [m.state, m.finalOutcome]), [
    ['failed', 'send-timeout'], ['failed', 'send-timeout'], ['failed', 'send-timeout'], ['submitted', null], ['submitted', null]
  ])
  const reports = await reportsAtOptimove(stack)
  t.same(reports.map((r) => [r.messageId, r.type]).sort(), [old1, old2, old3].sort().map((ref) => [ref, { status: 'Failed', subStatus: 'SendTimeout' }]),
    'Optimove is told Failed/SendTimeout for each old message, and nothing else')
})

t.test('a message whose retries outlast the max age is failed at its next claim instead of being sent again', async (t) => {
  const stack = await startStackOnMovableClock(t)
  const { gateway, service, dbPath, sendCampaign, advance } = stack
  gateway.script({ status: 502 })
  // Between the 502's settlement (retry scheduled with backoff) and the next claim, a day passes.
  service.dispatcher.once('settled', ({ outcome }) => { if (outcome === 'transient') advance(MAX_AGE_MS) })
  await sendCampaign(campaignBody({ recipients: 2 }))
  await until(service.dispatcher, 'settled', ended(dbPath))

  t.same(gateway.requestLog.map((r) => r.status), ['502'], 'no request after the failed one')
  t.equal(gateway.accepted.length, 0)
  t.same((await inspectStoreAt(dbPath)).messages.map((m) => [m.state, m.finalOutcome]), [['failed', 'send-timeout'], ['failed', 'send-timeout']])
  const reports = await reportsAtOptimove(stack)
  t.same(reports.map((r) => r.type), [{ status: 'Failed', subStatus: 'SendTimeout' }, { status: 'Failed', subStatus: 'SendTimeout' }])
})
