import t from 'tap'
import Database from 'better-sqlite3'
import { openSqliteStore, sqlitePathFromUrl } from '../../../src/core/store/sqlite-store.js'
import { MIGRATIONS } from '../../../src/core/store/migrations.js'
import type { NewBatch, NewMessage } from '../../../src/core/store/store.js'
import { readDatabase } from './sqlite-rows.js'

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

t.test('acceptCampaign: batch, messages and reports in one go; counts; verbatim metadata', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  t.same(await store.acceptCampaign(batch('k1'), messages(5, [1, 3])), { duplicate: false, conflict: false, accepted: 3, rejected: 2 })
  const db = readDatabase(path)
  t.equal(db.batches[0]!.metadata, '{"campaignId":"c","x":[1]}')
  t.same(db.messages.map((m) => m.state), ['queued', 'failed', 'queued', 'failed', 'queued'])
  t.same(db.messages.map((m) => m.next_attempt_at), [1000, 1000, 1000, 1000, 1000])
  t.same(db.reports.map((r) => [r.outcome, r.state, r.error_details]), [['invalid-recipient', 'pending', 'bad number'], ['invalid-recipient', 'pending', 'bad number']])
  t.same(await store.stats(), {
    batches: 1,
    messages: { queued: 3, sending: 0, submitted: 0, final: 0, failed: 2 },
    reports: { pending: 2, sending: 0, done: 0, parked: 0 },
    incoming: { pending: 0, sending: 0, done: 0, parked: 0 }
  })
})

t.test('idempotency is per registration and key; a duplicate writes nothing', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  await store.acceptCampaign(batch('k1'), messages(3, [0]))
  t.same(await store.acceptCampaign(batch('k1'), messages(7)), { duplicate: true, conflict: false, accepted: 2, rejected: 1 })
  t.same(await store.acceptCampaign(batch('k1', { registrationId: 'tenant-b' }), messages(1)), { duplicate: false, conflict: false, accepted: 1, rejected: 0 })
  t.equal(readDatabase(path).messages.length, 4)
})

t.test('two connections racing on one key: exactly one acceptance', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const a = openSqliteStore({ path })
  const b = openSqliteStore({ path })
  t.teardown(async () => { await a.close(); await b.close() })
  const results = await Promise.all([a.acceptCampaign(batch('same'), messages(10)), b.acceptCampaign(batch('same'), messages(10))])
  t.same(results.map((r) => r.duplicate).sort(), [false, true])
  t.equal(readDatabase(path).messages.length, 10)
})

t.test('references are unique across batches', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  for (let k = 0; k < 5; k++) await store.acceptCampaign(batch(`k${k}`), messages(20))
  const refs = readDatabase(path).messages.map((m) => m.reference)
  t.equal(new Set(refs).size, 100)
  t.ok(refs.every((r) => r.length <= 40), 'fits GatewayAPI reference comfortably')
})

t.test('ping rejects once the store is closed', async (t) => {
  const store = openSqliteStore({ path: ':memory:' })
  await store.ping()
  await store.close()
  await t.rejects(store.ping())
})

// What no interface reads back yet (an operator reads it with SQL): a status's place in its
// message's history, and an outbox row's last error.
t.test('the SQLite adapter keeps each status in its message\'s history, and the last error of a retried or parked row', async (t) => {
  const path = `${t.testdir()}/bridge.db`
  const store = openSqliteStore({ path })
  t.teardown(() => store.close())
  await store.acceptCampaign(batch('k'), messages(1, [0]).concat(messages(2).slice(1)))
  const [claimed] = await store.claimDue(1000, 1, 60_000)
  await store.markSubmitted([{ id: claimed!.id, attempt: claimed!.attempts, providerMessageId: 'gw-1' }], 1100)
  await store.recordWebhookEvent({ kind: 'status', eventId: 'e1', eventType: 'message.status_updated', receivedAt: 2000, reference: null, providerMessageId: 'gw-1', status: 'UNDELIVERABLE', statusAt: 1900, outcome: 'undeliverable', error: { code: '0x0A05', details: 'absent subscriber' } })
  await store.recordWebhookEvent({ kind: 'status', eventId: 'e2', eventType: 'message.status_updated', receivedAt: 2000, reference: 'nobody', providerMessageId: null, status: 'DELIVERED', statusAt: 1900, outcome: 'delivered' })
  const [r1, r2] = await store.claimReports(3000, 10, 60_000)
  await store.settleOutbox('reports', { retry: [{ id: r1!.id, at: 9000 }], error: 'HTTP 503' }, 3100)
  await store.settleOutbox('reports', { parked: [r2!.id], error: 'HTTP 400' }, 3100)

  const db = new Database(path, { readonly: true })
  t.teardown(() => db.close())
  t.same(db.prepare('SELECT event_id, message_id, status, error_code, error_details FROM webhook_events ORDER BY event_id').all(), [
    { event_id: 'e1', message_id: Number(claimed!.id), status: 'UNDELIVERABLE', error_code: '0x0A05', error_details: 'absent subscriber' },
    { event_id: 'e2', message_id: null, status: 'DELIVERED', error_code: null, error_details: null }
  ])
  t.same((db.prepare('SELECT last_error FROM reports').all() as Array<{ last_error: string }>).map((r) => r.last_error).sort(), ['HTTP 400', 'HTTP 503'])
})
