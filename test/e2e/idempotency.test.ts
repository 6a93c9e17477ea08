import t from 'tap'
import { request } from 'undici'
import { campaignBody, inspectStoreAt, logCapture, startStack } from '../helper.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'

/**
 * Campaign idempotency over real HTTP, with the simulated Optimove and GatewayAPI: the key is
 * (requestId, batchId) per registration, and whatever the answer, nobody is texted twice.
 */

/** A campaign whose recipients are numbered from `first`, so that each batch texts its own numbers. */
function batch (requestId: string, batchId: string, first: number, n: number, text = 'Hi'): Record<string, unknown> {
  return {
    ...campaignBody({ requestId, batchId, recipients: 0 }),
    recipients: Array.from({ length: n }, (_, i) => ({ message: `${text} ${first + i}`, mobileNumber: `+45 ${20000000 + first + i}`, customerId: `c${first + i}` }))
  }
}

async function metric (url: string, line: RegExp): Promise<number> {
  const text = await (await request(`${url}/metrics`)).body.text()
  const match = text.split('\n').find((l) => line.test(l))
  return match === undefined ? 0 : Number(match.slice(match.lastIndexOf(' ') + 1))
}

/** Every number GatewayAPI was asked to text, with how often. */
const textedNumbers = (gateway: Awaited<ReturnType<typeof startStack>>['gateway']): Map<number, number> => {
  const counts = new Map<number, number>()
  for (const m of gateway.accepted) counts.set(m.recipient, (counts.get(m.recipient) ?? 0) + 1)
  return counts
}

t.test('two batches of one request are both sent; a retried batch is sent once; a changed body under a known key is a counted conflict', async (t) => {
  const logs = logCapture()
  const { gateway, service, dbPath, sendCampaign } = await startStack(t, {}, { logStream: logs.stream })

  const first = batch('request-1', 'batch-1', 0, 2)
  const second = batch('request-1', 'batch-2', 10, 3)
  t.same((await sendCampaign(first)).body, { message: 'Campaign accepted', batchId: 'batch-1', requestId: 'request-1', accepted: 2, rejected: 0 })
  t.same((await sendCampaign(second)).body, { message: 'Campaign accepted', batchId: 'batch-2', requestId: 'request-1', accepted: 3, rejected: 0 },
    'a second batch of the same request is a new batch')
  await gateway.waitForAccepted(5)

  const retry = await sendCampaign(first)
  t.same(retry.body, { message: 'Campaign accepted', batchId: 'batch-1', requestId: 'request-1', accepted: 2, rejected: 0, duplicate: true })
  t.equal(await metric(service.adminUrl, /^bridge_campaign_conflicts_total/), 0, 'the same body again is no conflict')

  const changed = batch('request-1', 'batch-1', 20, 4, 'Changed')
  const conflict = await sendCampaign(changed)
  t.equal(conflict.status, 200)
  t.same(conflict.body, { message: 'Campaign accepted', batchId: 'batch-1', requestId: 'request-1', accepted: 2, rejected: 0, duplicate: true },
    'answered with the first acceptance')
  t.equal(await metric(service.adminUrl, /^bridge_campaign_conflicts_total\{registration="default"\}/), 1, 'counted as a conflict')
  t.equal(await metric(service.adminUrl, /^bridge_campaigns_total\{registration="default",outcome="duplicate"\}/), 2)
  const warning = logs.lines().map((l) => JSON.parse(l)).find((l) => /another body/.test(l.msg))
  t.match(warning, { level: 40, registration: 'default', batchId: 'batch-1', requestId: 'request-1' }, 'logged at warn')

  t.equal((await inspectStoreAt(dbPath)).messages.length, 5, 'neither the retry nor the conflict stored a message')
  // A later batch goes through the same queue: once it is sent, anything stored before it would have been too.
  await sendCampaign(batch('request-2', 'batch-1', 30, 1))
  await gateway.waitForAccepted(6)
  const texted = textedNumbers(gateway)
  t.same([...texted.keys()].sort(), [4520000000, 4520000001, 4520000010, 4520000011, 4520000012, 4520000030], 'only the numbers of the three new batches')
  t.ok([...texted.values()].every((n) => n === 1), 'each texted once')
})

t.test('a batch stored under the old key form (before this version) and retried after the upgrade is still a duplicate', async (t) => {
  const dbPath = `${t.testdir()}/upgraded.db`
  // What the previous version stored: keys `request:<id>` / `batch:<id>`, no body hash.
  const old = openSqliteStore({ path: dbPath })
  const now = Date.now()
  const legacy = (key: string, requestId: string, batchId: string, first: number) => old.acceptCampaign(
    { registrationId: 'default', idempotencyKey: key, batchId, requestId, senderId: 'Brand', metadataJson: '{}', scheduledAt: now, receivedAt: now },
    [{ mobileNumber: String(4520000000 + first), customerId: `c${first}`, text: `Hi ${first}` }])
  t.same(await legacy('request:request-old', 'request-old', 'batch-old', 0), { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
  t.same(await legacy('batch:batch-only', '', 'batch-only', 1), { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
  await old.close()

  // A subtest: startStack's own fixture directory must not be this one, which holds the old database.
  await t.test('after the upgrade', async (t) => {
    const { gateway, sendCampaign } = await startStack(t, { DATABASE_URL: `sqlite:${dbPath}` })
    await gateway.waitForAccepted(2)
    const retried = await sendCampaign(batch('request-old', 'batch-old', 0, 1))
    t.same(retried.body, { message: 'Campaign accepted', batchId: 'batch-old', requestId: 'request-old', accepted: 1, rejected: 0, duplicate: true },
      'the old `request:` key still answers for its batch')
    const retriedByBatch = await sendCampaign(batch('', 'batch-only', 1, 1))
    t.equal(retriedByBatch.body.duplicate, true, 'the old `batch:` key still answers for its batch')

    // The old key covered the whole request; now only the batch it was stored for.
    const sibling = await sendCampaign(batch('request-old', 'batch-new', 2, 1))
    t.notOk('duplicate' in sibling.body, 'another batch of that request is new')
    await gateway.waitForAccepted(3)
    t.same([...textedNumbers(gateway).entries()].sort(), [[4520000000, 1], [4520000001, 1], [4520000002, 1]], 'nobody texted twice')
  })
})
