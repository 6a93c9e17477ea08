import t from 'tap'
import Database from 'better-sqlite3'
import { applyMigrations, openSqliteStore, sqlitePathFromUrl } from '../../../src/core/store/sqlite-store.js'
import { MIGRATIONS } from '../../../src/core/store/migrations.js'
import type { NewBatch, NewMessage } from '../../../src/core/store/store.js'
import { claimsInTurn } from '../../helper.js'

// What is SQLite's own: its URLs, its pragmas and migrations on a file, two connections to one
// file. What every adapter must do is tested against each of them (adapters.ts).

function batch (key: string, overrides: Partial<NewBatch> = {}): NewBatch {
  return { registrationId: 'tenant-a', idempotencyKey: key, batchId: 'b', requestId: 'r', senderId: 'Brand', metadataJson: '{"campaignId":"c","x":[1]}', scheduledAt: 1000, receivedAt: 900, ...overrides }
}
function messages (n: number, failing: number[] = []): NewMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    mobileNumber: `45200000${String(i).padStart(2, '0')}`,
    customerId: `c${i}`,
    text: `text ${i}`,
    ...(failing.includes(i) ? { failure: { outcome: 'invalid-recipient' as const, reason: 'bad number' } } : {})
  }))
}

t.test('sqlitePathFromUrl accepts sqlite:, file: and bare paths', async (t) => {
  t.equal(sqlitePathFromUrl('sqlite:./data/x.db'), './data/x.db')
  t.equal(sqlitePathFromUrl('sqlite:///var/lib/x.db'), '/var/lib/x.db')
  t.equal(sqlitePathFromUrl('file:x.db'), 'x.db')
  t.equal(sqlitePathFromUrl('/abs/x.db'), '/abs/x.db')
})

t.test('opens durably: WAL, synchronous=FULL, migrations recorded once across reopenings', async (t) => {
  const path = `${t.testdir()}/nested/dir/bridge.db`
  const first = openSqliteStore({ path })
  await first.acceptCampaign(batch('k1'), messages(2))
  await first.close()
  const second = openSqliteStore({ path })
  t.equal((await second.stats()).messages.queued, 2, 'data survives a reopen')
  await second.close()
  const db = new Database(path, { readonly: true })
  t.teardown(() => db.close())
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.same(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all(), MIGRATIONS.map((m) => ({ version: m.version })))
})

t.test('a later migration applies on top of an existing database', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  await openSqliteStore({ path }).close()
  const extra = { version: 999, name: 'test column', sql: 'ALTER TABLE batches ADD COLUMN note TEXT' }
  await openSqliteStore({ path, migrations: [...MIGRATIONS, extra] }).close()
  const db = new Database(path, { readonly: true })
  t.teardown(() => db.close())
  t.ok((db.prepare('PRAGMA table_info(batches)').all() as Array<{ name: string }>).some((c) => c.name === 'note'))
})

t.test('messages stored before migration 5 learn their registration from their batch, and take turns', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const db = new Database(path)
  applyMigrations(db, MIGRATIONS.filter((m) => m.version < 5))
  for (const [id, registration] of [[1, 'tenant-b'], [2, 'tenant-a']] as const) {
    db.prepare(`INSERT INTO batches (id, uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata, scheduled_at, accepted_count, rejected_count, received_at)
                VALUES (?, ?, ?, ?, 'b', 'r', 'Brand', '{}', 1000, 2, 0, 900)`).run(id, `u${id}`, registration, `k${id}`)
    for (let i = 0; i < 2; i++) {
      db.prepare(`INSERT INTO messages (batch_id, reference, mobile_number, customer_id, body, state, next_attempt_at, created_at, updated_at)
                  VALUES (?, ?, '4520000000', 'c', ?, 'queued', 1000, 900, 900)`).run(id, `u${id}-${i}`, `${registration} ${i}`)
    }
  }
  db.close()
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  const turns = (await claimsInTurn(store, 2000, 10, 1000)).map((claim) => claim.map((m) => [m.registrationId, m.text]))
  t.same(turns, [[['tenant-a', 'tenant-a 0'], ['tenant-a', 'tenant-a 1']], [['tenant-b', 'tenant-b 0'], ['tenant-b', 'tenant-b 1']]])
})

t.test('messages leased before migration 6 are queued again, due at their lease\'s end with the attempt counted', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const db = new Database(path)
  applyMigrations(db, MIGRATIONS.filter((m) => m.version < 6))
  db.prepare(`INSERT INTO batches (id, uid, registration_id, idempotency_key, batch_id, request_id, sender_id, metadata, scheduled_at, accepted_count, rejected_count, received_at)
              VALUES (1, 'u1', 'tenant-a', 'k1', 'b', 'r', 'Brand', '{}', 1000, 2, 0, 900)`).run()
  db.prepare(`INSERT INTO messages (batch_id, registration_id, reference, mobile_number, customer_id, body, state, attempts, next_attempt_at, lease_until, lease_owner, created_at, updated_at)
              VALUES (1, 'tenant-a', 'u1-0', '4520000000', 'c', 'leased', 'sending', 1, 5000, 5000, 'old-instance', 900, 1000),
                     (1, 'tenant-a', 'u1-1', '4520000001', 'c', 'waiting', 'queued', 0, 1000, NULL, NULL, 900, 900)`).run()
  db.close()
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  t.same((await store.inspect()).messages.map((m) => [m.text, m.state, m.attempts, m.nextAttemptAt]), [['leased', 'queued', 1, 5000], ['waiting', 'queued', 0, 1000]])
  t.same((await store.claimDue(4999, 10, 1000)).map((m) => [m.text, m.attempts]), [['waiting', 1]], 'the leased one not before its lease ends')
  t.same((await store.claimDue(5000, 10, 1000)).map((m) => [m.text, m.attempts]), [['leased', 2]], 'then with its attempt counted')
})

t.test('two connections racing on one key: exactly one acceptance', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const a = openSqliteStore({ path })
  const b = openSqliteStore({ path })
  t.teardown(async () => { await a.close(); await b.close() })
  const results = await Promise.all([a.acceptCampaign(batch('same'), messages(10)), b.acceptCampaign(batch('same'), messages(10))])
  t.same(results.map((r) => r.duplicate).sort(), [false, true])
  t.equal((await a.stats()).messages.queued, 10, 'the batch\'s messages once')
})
