import t from 'tap'
import { openStore } from '../../src/core/store/open-store.js'
import { runOps } from '../helper.js'
import { bad, batchOf, inspect, stores, to } from './ops-stores.js'

// The operator's CLI, run as a process against a real store: the commands that change it, on
// SQLite and on PostgreSQL (when a test server is configured).

for (const [name, urlFor, options] of stores) {
  t.test(`${name}: requeue puts parked rows back (by registration, parked since a time), each once`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    await store.acceptCampaign(batchOf('a', 1), [bad('x1')])
    await store.acceptCampaign(batchOf('b', 1), [bad('x2'), bad('x3')])
    const [a, b1, b2] = await store.claimReports(1000, 10, 60_000)
    await store.settleOutbox('reports', { parked: [a!.id, b1!.id], error: 'HTTP 400' }, Date.parse('2026-11-30T09:00:00Z'))
    await store.settleOutbox('reports', { parked: [b2!.id], error: 'HTTP 400' }, Date.parse('2026-11-30T11:00:00Z'))
    await store.close()

    const requeue = async (...args: string[]) => {
      const run = await runOps(t, ['requeue', ...args], { DATABASE_URL: url })
      t.equal(run.code, 0, run.stderr)
      return JSON.parse(run.stdout)
    }
    t.same(await requeue('--registration', 'b', '--since', '2026-11-30T10:00:00Z'), { reports: 1, incoming: 0 }, 'b\'s row parked after 10:00')
    t.same(await requeue('--registration=a'), { reports: 1, incoming: 0 }, 'a\'s row')
    t.same(await requeue(), { reports: 1, incoming: 0 }, 'the rest')
    t.same(await requeue(), { reports: 0, incoming: 0 }, 'nothing twice')
    const reopened = await openStore(url)
    t.same((await reopened.claimReports(Date.now(), 10, 60_000)).map((r) => r.id).sort(), [a!.id, b1!.id, b2!.id].sort(), 'each due once more')
    await reopened.close()
    const wrong = await runOps(t, ['requeue', '--since', 'yesterday'], { DATABASE_URL: url })
    t.same([wrong.code, wrong.stderr.split('\n')[0]], [64, 'since: must be an ISO-8601 time (2026-11-30T10:00:00Z) or epoch milliseconds'])
  })

  t.test(`${name}: cancel ends a batch's waiting messages as cancelled, reported; an unknown batch exits 66`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    await store.acceptCampaign(batchOf('tenant', 1), [to('4520000001'), to('4520000002')])
    const batchId = (await store.inspect()).batches[0]!.id
    await store.close()

    const run = await runOps(t, ['cancel', batchId], { DATABASE_URL: url })
    t.equal(run.code, 0, run.stderr)
    t.same(JSON.parse(run.stdout), { cancelled: 2, inFlight: 0, alreadyDone: 0 })
    const after = await inspect(url)
    t.same(after.messages.map((m) => [m.state, m.finalOutcome]), [['failed', 'cancelled'], ['failed', 'cancelled']])
    t.same(after.reports.map((r) => [r.outcome, r.state]), [['cancelled', 'pending'], ['cancelled', 'pending']], 'each reported')
    const unknown = await runOps(t, ['cancel', '424242'], { DATABASE_URL: url })
    t.same([unknown.code, unknown.stderr.trim()], [66, 'no batch with our id 424242 (look it up with: batch <key>)'])
  })

  t.test(`${name}: pause holds a registration's messages back until resume; paused lists them`, options, async (t) => {
    const url = await urlFor(t.testdir())
    const store = await openStore(url)
    await store.acceptCampaign(batchOf('a', 1), [to('4520000001')])
    await store.acceptCampaign(batchOf('b', 1), [to('4520000002')])
    await store.close()

    t.match(JSON.parse((await runOps(t, ['pause', 'a'], { DATABASE_URL: url })).stdout), { registration: 'a', paused: true, wasPaused: false })
    t.match(JSON.parse((await runOps(t, ['paused'], { DATABASE_URL: url })).stdout), [{ registrationId: 'a' }])
    const paused = await openStore(url)
    t.same((await paused.claimDue(Date.now(), 10, 60_000)).map((m) => m.registrationId), ['b'], 'only b\'s message is claimed')
    t.same(await paused.claimDue(Date.now(), 10, 60_000), [])
    await paused.close()
    t.match(JSON.parse((await runOps(t, ['resume', 'a'], { DATABASE_URL: url })).stdout), { registration: 'a', paused: false, wasPaused: true })
    t.same(JSON.parse((await runOps(t, ['paused'], { DATABASE_URL: url })).stdout), [])
    const resumed = await openStore(url)
    t.same((await resumed.claimDue(Date.now(), 10, 60_000)).map((m) => m.registrationId), ['a'], 'a\'s message goes once resumed')
    await resumed.close()
  })
}
