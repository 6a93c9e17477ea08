import t, { type Test } from 'tap'
import type { NewMessage, Store, TakenOver } from '../../../src/core/store/store.js'
import { CONTRACT_ADAPTERS, type OpenStore } from './adapters.js'

// Replicas on one database, against every adapter: each claim names its instance, a live
// instance takes over the claims of one that stopped beating (due at once, its late answers
// fenced off), never its own or a live one's, and a job's lease is held by one instance at a time.

const batch = (key: string) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 })
const usable = (n: number): NewMessage[] => Array.from({ length: n }, (_, i) => ({ mobileNumber: `4520${String(i).padStart(6, '0')}`, customerId: `c${i}`, text: `text ${i}` }))
const unusable: NewMessage = { mobileNumber: 'bad', customerId: 'x', text: 'never sent', failure: { outcome: 'invalid-recipient', reason: 'bad number' } }
const reply = (eventId: string) => ({ kind: 'inbound' as const, eventId, eventType: 'user-message.text.sms', receivedAt: 1000, from: '4511', text: 'STOP', sentAt: 1000, routes: [{ registrationId: 'r', to: 'Brand' }] })

/** Instances of one database (the test's folder), each named, closed at teardown. */
async function instances (t: Test, open: OpenStore, ...ids: string[]): Promise<Store[]> {
  const dir = t.testdir()
  const stores: Store[] = []
  t.teardown(async () => { for (const store of stores) await store.close() })
  for (const instanceId of ids) stores.push(await open(dir, { instanceId }))
  return stores
}

/** `store`'s claims of everything due at `now`, one of each kind at most `limit`: messages, reports, replies. */
async function claimAll (store: Store, now: number, limit = 10) {
  return {
    messages: await store.claimDue(now, limit, 60_000),
    reports: await store.claimReports(now, limit, 60_000),
    replies: await store.claimIncoming(now, limit, 60_000)
  }
}

const byInstance = (a: TakenOver, b: TakenOver): number => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0)

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: each opening is an instance of its own, named as asked`, options, async (t) => {
    const dir = t.testdir()
    const stores = [await open(dir), await open(dir), await open(dir, { instanceId: 'instance-a' })]
    t.teardown(async () => { for (const store of stores) await store.close() })
    const [x, y, a] = stores
    t.equal(a!.instanceId, 'instance-a')
    t.ok(x!.instanceId.length > 0 && y!.instanceId.length > 0, 'one is chosen when none is asked for')
    t.not(x!.instanceId, y!.instanceId, 'a different one at each opening')
  })

  t.test(`${name}: every claim records its instance as the lease's owner`, options, async (t) => {
    const [a, b] = await instances(t, open, 'instance-a', 'instance-b')
    await a!.acceptCampaign(batch('k'), [...usable(3), unusable])
    await a!.recordWebhookEvent(reply('m1'))
    await a!.recordWebhookEvent(reply('m2'))
    const before = await a!.inspect()
    t.same([...before.messages, ...before.reports, ...before.incoming].map((row) => row.leaseOwner), [null, null, null, null, null, null, null], 'nobody\'s before a claim')

    const [first] = await a!.claimDue(2000, 1, 60_000)
    const [second] = await b!.claimDue(2000, 1, 60_000)
    await a!.claimReports(2000, 10, 60_000)
    await b!.claimIncoming(2000, 1, 60_000)
    await a!.claimIncoming(2000, 1, 60_000)
    const claimed = await b!.inspect()
    t.same(claimed.messages.map((m) => [m.id, m.state, m.leaseOwner]), [
      [first!.id, 'sending', 'instance-a'], [second!.id, 'sending', 'instance-b'], [claimed.messages[2]!.id, 'queued', null], [claimed.messages[3]!.id, 'failed', null]
    ], 'messages (claimDue)')
    t.same(claimed.reports.map((r) => [r.state, r.leaseOwner]), [['sending', 'instance-a']], 'reports (claimReports)')
    t.same(claimed.incoming.map((r) => [r.state, r.leaseOwner]), [['sending', 'instance-b'], ['sending', 'instance-a']], 'replies (claimIncoming)')

    await a!.markSubmitted([{ id: first!.id, attempt: first!.attempts, providerMessageId: 'p-1' }], 2100)
    t.match((await a!.inspect()).messages[0], { state: 'submitted', leaseOwner: 'instance-a' }, 'a settled row still names the instance of its last claim')
  })

  t.test(`${name}: a heartbeat registers its instance, and the next one moves its heartbeat on`, options, async (t) => {
    const [a, b] = await instances(t, open, 'instance-a', 'instance-b')
    t.same((await a!.inspect()).instances, [], 'none before a beat')
    t.same(await b!.heartbeat(1000, 0), [])
    t.same(await a!.heartbeat(1500, 0), [])
    t.same(await b!.heartbeat(2000, 0), [])
    t.same((await a!.inspect()).instances, [
      { id: 'instance-a', startedAt: 1500, heartbeatAt: 1500 },
      { id: 'instance-b', startedAt: 1000, heartbeatAt: 2000 }
    ], 'each with its first and its last beat, by id')
  })

  t.test(`${name}: a heartbeat takes over the claims of an instance that stopped beating: due at once, its late answers fenced off`, options, async (t) => {
    const [a, b, c] = await instances(t, open, 'instance-a', 'instance-b', 'instance-c')
    await a!.acceptCampaign(batch('k'), [...usable(3), unusable])
    await a!.recordWebhookEvent(reply('m1'))
    t.same(await a!.heartbeat(1000, 0), [])
    t.same(await c!.heartbeat(1200, 0), [], 'an instance that claims nothing')
    const byA = await claimAll(a!, 2000, 2)
    t.same([byA.messages.length, byA.reports.length, byA.replies.length], [2, 1, 1], 'A holds two messages, a report and a reply')

    // A dies (no beat after 1000); B beats at 5000 and takes A for dead (silent since before 1500).
    const taken = await b!.heartbeat(5000, 1500)
    t.same([...taken].sort(byInstance), [
      { instanceId: 'instance-a', lastHeartbeatAt: 1000, claims: 4 },
      { instanceId: 'instance-c', lastHeartbeatAt: 1200, claims: 0 }
    ], 'each instance taken over, with the claims it held (messages, reports and replies)')
    const seen = await b!.inspect()
    t.same(seen.instances.map((i) => i.id), ['instance-b'], 'the dead instances are forgotten')
    t.same(seen.messages.filter((m) => m.state === 'sending').map((m) => [m.attempts, m.nextAttemptAt, m.leaseUntil]), [[1, 5000, 5000], [1, 5000, 5000]],
      'A\'s messages are due now, their attempts as they were')

    const byB = await claimAll(b!, 5000)
    t.same(byB.messages.map((m) => [m.id, m.attempts]), [[byA.messages[0]!.id, 2], [byA.messages[1]!.id, 2], [seen.messages[2]!.id, 1]],
      'B claims them at once, first, each at its next attempt; then the message still queued')
    t.same(byB.reports.map((r) => [r.id, r.attempts]), [[byA.reports[0]!.id, 2]], 'and A\'s report')
    t.same(byB.replies.map((r) => [r.id, r.attempts]), [[byA.replies[0]!.id, 2]], 'and A\'s reply')

    // A was only slow: its answer to its old claim comes now.
    await a!.markSubmitted(byA.messages.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `late-${m.id}` })), 5100)
    t.same((await b!.inspect()).messages.slice(0, 2).map((m) => [m.state, m.attempts, m.providerMessageId, m.leaseOwner]),
      [['sending', 2, null, 'instance-b'], ['sending', 2, null, 'instance-b']], 'A\'s late answer changes nothing')
  })

  t.test(`${name}: a live instance's claims are never taken over`, options, async (t) => {
    const [a, b] = await instances(t, open, 'instance-a', 'instance-b')
    await a!.acceptCampaign(batch('k'), [...usable(1), unusable])
    t.same(await a!.heartbeat(1000, 0), [])
    await claimAll(a!, 2000)
    t.same(await b!.heartbeat(5000, 1000), [], 'A beat at 1000: not before 1000')
    const seen = await b!.inspect()
    t.same(seen.instances.map((i) => i.id), ['instance-a', 'instance-b'])
    t.match(seen.messages[0], { state: 'sending', leaseOwner: 'instance-a', leaseUntil: 62_000 }, 'its lease runs on')
    t.match(seen.reports[0], { state: 'sending', leaseOwner: 'instance-a', leaseUntil: 62_000 })
    t.same(await claimAll(b!, 5000), { messages: [], reports: [], replies: [] }, 'nothing for B to claim')
  })

  t.test(`${name}: an instance never takes over itself, however late its own beat`, options, async (t) => {
    const [a] = await instances(t, open, 'instance-a')
    await a!.acceptCampaign(batch('k'), usable(1))
    t.same(await a!.heartbeat(1000, 0), [])
    await a!.claimDue(2000, 10, 60_000)
    t.same(await a!.heartbeat(100_000, 50_000), [], 'its beat is recorded before the dead are looked for')
    const seen = await a!.inspect()
    t.same(seen.instances, [{ id: 'instance-a', startedAt: 1000, heartbeatAt: 100_000 }])
    t.match(seen.messages[0], { state: 'sending', attempts: 1, leaseUntil: 62_000, leaseOwner: 'instance-a' }, 'its claim untouched')
  })

  t.test(`${name}: a retired instance is forgotten`, options, async (t) => {
    const [a, b] = await instances(t, open, 'instance-a', 'instance-b')
    await a!.heartbeat(1000, 0)
    await b!.heartbeat(1000, 0)
    await a!.retireInstance()
    t.same((await b!.inspect()).instances.map((i) => i.id), ['instance-b'])
    await a!.retireInstance()
    t.pass('retiring again changes nothing')
    t.same(await b!.heartbeat(100_000, 50_000), [], 'nothing left of it to take over')
  })

  t.test(`${name}: a job's lease is held by one instance at a time`, options, async (t) => {
    const [a, b] = await instances(t, open, 'instance-a', 'instance-b')
    t.equal(await a!.leaseJob('prune', 1000, 2000), true, 'A takes the free job')
    t.equal(await b!.leaseJob('prune', 1500, 2500), false, 'B is refused while A\'s lease runs')
    t.equal(await b!.leaseJob('sweep', 1500, 2500), true, 'another job is another lease')
    t.equal(await a!.leaseJob('prune', 1900, 3000), true, 'A renews its lease')
    t.equal(await b!.leaseJob('prune', 2999, 4000), false, 'B is refused until the renewed lease ends')
    t.equal(await b!.leaseJob('prune', 3000, 4000), true, 'B takes it once A\'s lease has ended')
    t.equal(await a!.leaseJob('prune', 3500, 4500), false, 'A is then refused')
    t.equal(await b!.leaseJob('prune', 3900, 5000), true, 'and B renews it')
  })

  t.test(`${name}: a retired instance's jobs are free at once; another instance's are not touched`, options, async (t) => {
    const [a, b, c] = await instances(t, open, 'instance-a', 'instance-b', 'instance-c')
    t.equal(await a!.leaseJob('prune', 1000, 60_000), true)
    t.equal(await b!.leaseJob('sweep', 1000, 60_000), true)
    await a!.retireInstance()
    t.equal(await c!.leaseJob('prune', 1001, 60_000), true, 'the retired instance\'s job, long before its lease ends')
    t.equal(await c!.leaseJob('sweep', 1001, 60_000), false, 'a live instance\'s job stays its own')
  })
}
