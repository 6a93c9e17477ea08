import t, { type Test } from 'tap'
import pg from 'pg'
import { openPgStore } from '../../../src/core/store/pg-store.js'
import { PG_MIGRATIONS, applyPgMigrations } from '../../../src/core/store/pg-migrations.js'
import type { NewMessage, Store } from '../../../src/core/store/store.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from './pg-test-database.js'
import { claimsInTurn } from '../../helper.js'

// PostgreSQL's own concurrency: several processes (here, several pools) share one database.
// Their claims must never hand one row to two of them, and their openings must migrate once.
// The contract itself is tested against every adapter (adapters.ts).

const setting = pgTestSetting()

/** The options of a PostgreSQL test: skipped with its reason without DATABASE_URL_TEST (outside CI). */
const options = 'skip' in setting ? { skip: setting.skip } : {}

/** The URL of the test's own schema; in CI without DATABASE_URL_TEST, the test fails saying so. */
async function schemaOf (t: Test): Promise<string> {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  return schemaUrlFor(setting.url, t.testdir())
}

const batch = (key: string) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900 })
const messages = (n: number, failing = false): NewMessage[] => Array.from({ length: n }, (_, i) => ({
  mobileNumber: `4520${String(i).padStart(6, '0')}`, customerId: `c${i}`, text: `text ${i}`,
  ...(failing ? { failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } } : {})
}))

/** Two stores on one database, as two processes would be, closed at teardown. */
async function twoProcesses (t: Test, url: string): Promise<[Store, Store]> {
  const a = await openPgStore({ url, poolSize: 4 })
  const b = await openPgStore({ url, poolSize: 4 })
  t.teardown(async () => { await a.close(); await b.close() })
  return [a, b]
}

/** Claims with `claim` until a claim finds nothing; every id claimed, in order. */
async function drain (claim: () => Promise<Array<{ id: string }>>): Promise<string[]> {
  const ids: string[] = []
  for (let claimed = await claim(); claimed.length > 0; claimed = await claim()) ids.push(...claimed.map((m) => m.id))
  return ids
}

t.test('two processes claiming at once from 2,000 due messages, in many small claims, never get one message twice', options, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = await twoProcesses(t, url)
  for (let k = 0; k < 4; k++) await a.acceptCampaign(batch(`k${k}`), messages(500))
  // Four claim loops per process, each claim a few messages: the claims overlap all the time.
  const loops = [a, a, a, a, b, b, b, b].map((store) => drain(() => store.claimDue(5000, 7, 60_000)))
  const claimed = await Promise.all(loops)
  const all = claimed.flat()
  t.ok(claimed.every((ids) => ids.length > 0), `every loop claimed (${claimed.map((ids) => ids.length).join(' / ')})`)
  t.equal(all.length, 2000, 'no message claimed twice')
  t.equal(new Set(all).size, 2000, 'every message exactly once')
  const stored = (await a.inspect()).messages
  t.ok(stored.every((m) => m.state === 'sending' && m.attempts === 1 && m.leaseUntil === 65_000), 'each leased once, at its first attempt')
})

t.test('expired leases reclaimed by two processes at once go to one of them', options, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = await twoProcesses(t, url)
  await a.acceptCampaign(batch('k'), messages(600))
  t.equal((await drain(() => a.claimDue(1000, 100, 1000))).length, 600, 'all leased, their leases end at 2000')
  // The claiming process died; both others take over its expired leases at once.
  const claimed = await Promise.all([a, a, b, b].map((store) => drain(() => store.claimDue(2000, 9, 60_000))))
  const all = claimed.flat()
  t.equal(all.length, 600)
  t.equal(new Set(all).size, 600, 'each expired lease taken over once')
  t.ok((await b.inspect()).messages.every((m) => m.attempts === 2), 'each at its second attempt')
})

t.test('two processes claiming reports and replies at once never get one row twice', options, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = await twoProcesses(t, url)
  await a.acceptCampaign(batch('k'), messages(400, true))
  for (let i = 0; i < 200; i++) {
    await b.recordWebhookEvent({ kind: 'inbound', eventId: `m${i}`, eventType: 'user-message.text.sms', receivedAt: 1000, from: '4511', text: `reply ${i}`, sentAt: 1000, routes: [{ registrationId: 'r', to: 'Brand' }] })
  }
  const reports = (await Promise.all([a, a, b, b].map((store) => drain(() => store.claimReports(2000, 5, 60_000, 64 * 1024))))).flat()
  t.equal(reports.length, 400)
  t.equal(new Set(reports).size, 400, 'each report once')
  const replies = (await Promise.all([a, b, a, b].map((store) => drain(() => store.claimIncoming(2000, 5, 60_000))))).flat()
  t.equal(replies.length, 200)
  t.equal(new Set(replies).size, 200, 'each reply once')
})

t.test('two processes accepting one campaign at once store it once', options, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = await twoProcesses(t, url)
  const results = await Promise.all([a.acceptCampaign(batch('same'), messages(1000)), b.acceptCampaign(batch('same'), messages(1000))])
  t.same(results.map((r) => r.duplicate).sort(), [false, true])
  t.same(results.map((r) => r.accepted), [1000, 1000], 'the duplicate answers with the first acceptance\'s counts')
  t.equal((await a.stats()).messages.queued, 1000)
})

t.test('two processes opening an empty schema together both open it, and migrate it once', options, async (t) => {
  const url = await schemaOf(t)
  const opened = await Promise.all([openPgStore({ url, poolSize: 2 }), openPgStore({ url, poolSize: 2 })])
  t.teardown(async () => { for (const store of opened) await store.close() })
  for (const store of opened) await store.ping()
  const recorded = await onTestDatabase<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version')
  t.same(recorded.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version), 'each migration recorded once')
  const reopened = await openPgStore({ url })
  await reopened.close()
  t.equal((await onTestDatabase(url, 'SELECT version FROM schema_migrations')).length, PG_MIGRATIONS.length, 'a later opening applies nothing again')
})

t.test('messages stored before migration 3 learn their registration from their batch, and take turns', options, async (t) => {
  const url = await schemaOf(t)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  await applyPgMigrations(pool, PG_MIGRATIONS.filter((m) => m.version < 3))
  for (const registration of ['tenant-b', 'tenant-a']) {
    await pool.query(`
      WITH b AS (
        INSERT INTO batches (uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata, scheduled_at, accepted_count, rejected_count, received_at)
        VALUES ($1, $1, $1, 'b', 'r', 'Brand', '{}', 1000, 2, 0, 900) RETURNING id
      )
      INSERT INTO messages (batch_id, reference, mobile_number, customer_id, body, state, next_attempt_at, created_at, updated_at)
      SELECT b.id, $1 || '-' || i, '4520000000', 'c', $1 || ' ' || i, 'queued', 1000, 900, 900 FROM b, generate_series(0, 1) AS i`, [registration])
  }
  await pool.end()
  const store = await openPgStore({ url, poolSize: 2 })
  t.teardown(() => store.close())
  const turns = (await claimsInTurn(store, 2000, 10, 1000)).map((claim) => claim.map((m) => [m.registrationId, m.text]))
  t.same(turns, [[['tenant-a', 'tenant-a 0'], ['tenant-a', 'tenant-a 1']], [['tenant-b', 'tenant-b 0'], ['tenant-b', 'tenant-b 1']]])
})

t.test('messages leased before migration 4 are queued again, due at their lease\'s end with the attempt counted', options, async (t) => {
  const url = await schemaOf(t)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  await applyPgMigrations(pool, PG_MIGRATIONS.filter((m) => m.version < 4))
  await pool.query(`
    WITH b AS (
      INSERT INTO batches (uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata, scheduled_at, accepted_count, rejected_count, received_at)
      VALUES ('u1', 'tenant-a', 'k1', 'b', 'r', 'Brand', '{}', 1000, 2, 0, 900) RETURNING id
    )
    INSERT INTO messages (batch_id, registration_id, reference, mobile_number, customer_id, body, state, attempts, next_attempt_at, lease_until, lease_owner, created_at, updated_at)
    SELECT b.id, 'tenant-a', 'u1-0', '4520000000', 'c', 'leased', 'sending', 1, 5000, 5000, 'old-instance', 900, 1000 FROM b
    UNION ALL SELECT b.id, 'tenant-a', 'u1-1', '4520000001', 'c', 'waiting', 'queued', 0, 1000, NULL, NULL, 900, 900 FROM b`)
  await pool.end()
  const store = await openPgStore({ url, poolSize: 2 })
  t.teardown(() => store.close())
  t.same((await store.inspect()).messages.map((m) => [m.text, m.state, m.attempts, m.nextAttemptAt]), [['leased', 'queued', 1, 5000], ['waiting', 'queued', 0, 1000]])
  t.same((await store.claimDue(4999, 10, 1000)).map((m) => [m.text, m.attempts]), [['waiting', 1]], 'the leased one not before its lease ends')
  t.same((await store.claimDue(5000, 10, 1000)).map((m) => [m.text, m.attempts]), [['leased', 2]], 'then with its attempt counted')
})

t.test('a pool connection dropped by the server is reported, never thrown, and replaced', options, async (t) => {
  const url = await schemaOf(t)
  const name = `bridge-drop-${process.pid}`
  const u = new URL(url)
  u.searchParams.set('application_name', name)
  let reported!: (err: Error) => void
  const dropped = new Promise<Error>((resolve) => { reported = resolve })
  const store = await openPgStore({ url: u.href, poolSize: 2, onConnectionError: (err) => reported(err) })
  t.teardown(() => store.close())
  await store.ping()
  const [killed] = await onTestDatabase<{ n: number }>(url, 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])
  t.ok(killed!.n >= 1, 'the idle connection was ended by the server')
  t.match(await dropped, { code: '57P01', message: /terminating connection/ }, 'reported to the listener')
  await store.ping()
  t.pass('the store answers on a new connection')
})

t.test('BIGINT comes back as numbers from the store\'s own pool; pg\'s global parsers are untouched', options, async (t) => {
  const url = await schemaOf(t)
  const store = await openPgStore({ url })
  t.teardown(() => store.close())
  await store.acceptCampaign({ ...batch('k'), scheduledAt: 1_700_000_000_123, receivedAt: 1_700_000_000_000 }, messages(1))
  t.match((await store.inspect()).messages[0], { nextAttemptAt: 1_700_000_000_123, createdAt: 1_700_000_000_000 })
  t.equal(typeof (await store.stats()).batches, 'number')
  t.equal(pg.types.getTypeParser(20)('12'), '12', 'the global BIGINT parser still returns strings')
})

t.test('a call waiting on the database longer than the statement timeout fails instead of waiting on', options, async (t) => {
  const url = await schemaOf(t)
  const store = await openPgStore({ url, statementTimeoutMs: 300 })
  t.teardown(() => store.close())
  await store.ping()
  // Another session holds the messages table.
  const holder = new pg.Client({ connectionString: url })
  await holder.connect()
  t.teardown(() => holder.end())
  await holder.query('BEGIN')
  await holder.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE')
  const started = Date.now()
  await t.rejects(store.stats(), { code: '57014' }, 'cancelled by the server (query_canceled)')
  t.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`)
  await holder.query('ROLLBACK')
  t.match(await store.stats(), { batches: 0 }, 'and answers once the table is free')
})
