import t from 'tap'
import { openStore } from '../../src/core/store/open-store.js'
import { runOps } from '../helper.js'
import { batchOf, stores, to } from './ops-stores.js'

// The operator's CLI, run as a process against a real store: its reading commands on SQLite and on
// PostgreSQL (when a test server is configured), through the store's interfaces.

for (const [name, urlFor, options] of stores) {
  t.test(`${name}: status prints the queue's state as JSON, the store's own figures`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    await store.acceptCampaign(
      { registrationId: 'default', idempotencyKey: 'k', batchId: 'b', requestId: 'r', senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900 },
      [{ mobileNumber: '4520000001', customerId: 'c1', text: 'one' }, { mobileNumber: '4520000002', customerId: 'c2', text: 'two' }, { mobileNumber: '12', customerId: 'c3', text: 'bad', failure: { outcome: 'invalid-recipient', reason: 'bad number' } }])
    await store.claimDue(2000, 1, 60_000)
    const expected = await store.stats()
    await store.close()
    t.same(expected.messages, { queued: 1, sending: 1, submitted: 0, final: 0, failed: 1 }, 'one of each, as set up')

    const run = await runOps(t, ['status'], { DATABASE_URL: url })
    t.equal(run.code, 0, run.stderr)
    t.same(JSON.parse(run.stdout), expected)
  })

  t.test(`${name}: parked lists the parked reports and replies with their last errors, as many as asked`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    const bad = (i: number) => ({ mobileNumber: String(i), customerId: `c${i}`, text: 'bad', failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } })
    await store.acceptCampaign({ registrationId: 'default', idempotencyKey: 'k', batchId: 'b', requestId: 'r', senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900 }, [bad(1), bad(2)])
    const reports = await store.claimReports(2000, 10, 60_000)
    await store.settleOutbox('reports', { parked: reports.map((r) => r.id), error: 'HTTP 400: refused for good' }, 2100)
    const expected = await store.parked()
    await store.close()
    t.equal(expected.reports.length, 2)

    const all = await runOps(t, ['parked'], { DATABASE_URL: url })
    t.equal(all.code, 0, all.stderr)
    t.same(JSON.parse(all.stdout), expected)
    t.match(JSON.parse(all.stdout).reports[0], { state: 'parked', lastError: 'HTTP 400: refused for good', registrationId: 'default' })
    const one = await runOps(t, ['parked', '1'], { DATABASE_URL: url })
    t.same(JSON.parse(one.stdout).reports, expected.reports.slice(0, 1), 'the oldest, as asked')
    const nonsense = await runOps(t, ['parked', 'lots'], { DATABASE_URL: url })
    t.same([nonsense.code, nonsense.stderr.split('\n')[0]], [64, 'limit: Invalid input: expected number, received NaN'])
  })

  t.test(`${name}: batch and message print what the store finds, by any of their keys`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    await store.acceptCampaign(batchOf('tenant', 1), [to('4520000001'), to('4520000002')])
    const [claimed] = await store.claimDue(2000, 1, 60_000)
    await store.markSubmitted([{ id: claimed!.id, attempt: 1, providerMessageId: 'gw-7' }], 2100)
    await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 3000, reference: null, providerMessageId: 'gw-7', status: 'DELIVERED', statusAt: 2900, outcome: 'delivered' })
    const batches = await store.lookupBatches('request-1', 20)
    const messages = await store.lookupMessages('gw-7', 20)
    await store.close()
    t.match(batches, [{ batch: { batchId: 'batch-1' }, messages: { queued: 1, final: 1 } }])
    t.match(messages, [{ message: { mobileNumber: '4520000001', state: 'final' }, history: [{ status: 'DELIVERED' }] }])

    for (const key of ['request-1', 'batch-1', batches[0]!.batch.id]) {
      const run = await runOps(t, ['batch', key], { DATABASE_URL: url })
      t.equal(run.code, 0, run.stderr)
      t.same(JSON.parse(run.stdout), batches, `batch ${key}`)
    }
    for (const key of ['gw-7', messages[0]!.message.reference, '+45 20 00 00 01', '004520000001']) {
      const run = await runOps(t, ['message', key], { DATABASE_URL: url })
      t.equal(run.code, 0, run.stderr)
      t.same(JSON.parse(run.stdout), messages, `message ${key}`)
    }
    t.same(JSON.parse((await runOps(t, ['message', 'nobody'], { DATABASE_URL: url })).stdout), [], 'nothing found: an empty list')
    const missing = await runOps(t, ['batch'], { DATABASE_URL: url })
    t.same([missing.code, missing.stderr.split('\n')[0]], [64, 'key: Invalid input: expected string, received undefined'])
  })
}

t.test('an unknown or missing command prints the usage and exits 64; a missing SQLite file is not created (69)', async (t) => {
  const dir = t.testdir()
  for (const args of [[], ['frobnicate']]) {
    const run = await runOps(t, args, { DATABASE_URL: `sqlite:${dir}/bridge.db` })
    t.equal(run.code, 64, args.join(' '))
    t.match(run.stderr, /usage: npm run ops -- <command>/)
    t.match(run.stderr, /^ {2}status *\n {2} +the queue's state/m, 'every command listed with what it does')
    t.match(run.stderr, /^ {2}requeue +\[--registration <registration>\] \[--since <since>\]$/m, 'with its parameters')
    t.equal(run.stdout, '')
  }
  const missing = await runOps(t, ['status'], { DATABASE_URL: `sqlite:${dir}/nowhere/bridge.db` })
  t.same([missing.code, missing.stderr.trim()], [69, `no database at ${dir}/nowhere/bridge.db (DATABASE_URL)`])
  const bad = await runOps(t, ['status'], { DATABASE_URL: 'mysql://db/bridge' })
  t.equal(bad.code, 78, 'a DATABASE_URL of no store we have')
})
