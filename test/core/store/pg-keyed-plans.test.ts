import t, { type Test } from 'tap'
import type pg from 'pg'
import { createPgPool } from '../../../src/core/store/pg-pool.js'
import { applyPgMigrations } from '../../../src/core/store/pg-migrations.js'
import { createPgIntake } from '../../../src/core/store/pg-intake.js'
import { createPgRelay } from '../../../src/core/store/pg-relay.js'
import type { NewMessage } from '../../../src/core/store/store.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from './pg-test-database.js'

// What a settlement (or the end of a lapsed claim) reads on PostgreSQL with 20,000 messages
// queued, whether the planner's statistics are those of an empty queue or up to date
// (pg-keyed-plans.ts): only its own messages, each through the primary key. Observed on the
// relay's own statements: its connections run with auto_explain, which sends each statement's
// plan, with the rows it read, to the client.

const setting = pgTestSetting()
const options = 'skip' in setting ? { skip: setting.skip } : {}

async function schemaOf (t: Test): Promise<string> {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  return schemaUrlFor(setting.url, t.testdir())
}

/** A plan node of EXPLAIN's JSON, as auto_explain gives it (with ANALYZE: the rows each node returned, per loop). */
interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Actual Rows': number
  'Actual Loops': number
  'Rows Removed by Filter'?: number
  Plans?: PlanNode[]
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/** The rows a scan node read: those it returned and those its filter removed, in all its loops. */
const rowsRead = (nodes: readonly PlanNode[]): number => nodes.reduce((sum, n) => sum + (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'], 0)

/** `url` whose connections explain every statement they run to their client (a superuser's setting, as the test database's user is). */
function explaining (url: string): string {
  const u = new URL(url)
  const settings = ['session_preload_libraries=auto_explain', 'auto_explain.log_min_duration=0', 'auto_explain.log_analyze=on', 'auto_explain.log_format=json', 'client_min_messages=log']
  u.searchParams.set('options', `${u.searchParams.get('options') ?? ''} ${settings.map((s) => `-c ${s}`).join(' ')}`.trim())
  return u.href
}

/** Each statement's text and plan, as the pool's connections explain them. */
function explainedPlans (pool: pg.Pool): Array<{ query: string; plan: PlanNode }> {
  const plans: Array<{ query: string; plan: PlanNode }> = []
  pool.on('connect', (client) => {
    client.on('notice', (notice) => {
      const json = /plan:\s*(\{[\s\S]*\})\s*$/.exec(notice.message ?? '')?.[1]
      if (json === undefined) return
      const explained = JSON.parse(json) as { 'Query Text': string; Plan: PlanNode }
      plans.push({ query: explained['Query Text'], plan: explained.Plan })
    })
  })
  return plans
}

/** The PostgreSQL store's intake and relay, on the test's own schema, each statement they run explained into `plans`. */
async function explainedRelay (t: Test) {
  const url = await schemaOf(t)
  const pool = createPgPool({ url: explaining(url), poolSize: 2 })
  t.teardown(() => pool.end())
  const plans = explainedPlans(pool)
  await applyPgMigrations(pool)
  return { url, plans, accept: createPgIntake(pool, { rememberRecipients: false }), relay: createPgRelay(pool, 'test-instance') }
}

const batch = (key: string) => ({ registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900 })
const messages = (n: number): NewMessage[] => Array.from({ length: n }, (_, i) => ({ mobileNumber: `4520${String(i).padStart(6, '0')}`, customerId: `c${i}`, text: `text ${i}` }))

for (const statistics of ['of an empty queue', 'up to date'] as const) {
  t.test(`with the statistics ${statistics}, a settlement of 1,000 of 20,000 queued messages, or the end of a lapsed claim of 1,000, reads its 1,000 through the primary key`, options, async (t) => {
    const { url, plans, accept, relay } = await explainedRelay(t)

    // 60 messages, all sent: the queue is empty (when its statistics are taken, in the first case).
    await accept(batch('small'), messages(60))
    const first = await relay.claimDue(1000, 100, 60_000)
    await relay.markSubmitted(first.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `p-${m.id}` })), 1001)
    if (statistics === 'of an empty queue') await onTestDatabase(url, 'ANALYZE messages')
    // Then 20,000 are queued, and three claims of 1,000 settle: sent, retried later, failed.
    await accept(batch('a'), messages(10_000))
    await accept(batch('b'), messages(10_000))
    if (statistics === 'up to date') await onTestDatabase(url, 'ANALYZE messages')
    const [sent, retried, failed] = [await relay.claimDue(2000, 1000, 60_000), await relay.claimDue(2000, 1000, 60_000), await relay.claimDue(2000, 1000, 60_000)]
    t.equal(sent.length + retried.length + failed.length, 3000, 'three claims of 1,000')
    plans.length = 0
    await relay.markSubmitted(sent.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `p-${m.id}` })), 2001)
    await relay.reschedule(retried.map((m) => ({ id: m.id, attempt: m.attempts, at: 9000 })), 'try again', 2001, 0)
    await relay.fail(failed.map((m) => ({ id: m.id, attempt: m.attempts, outcome: 'invalid-recipient' as const, reason: 'refused' })), 2001)

    for (const [what, marker] of [['submission', "state = 'submitted'"], ['retry', 'SET next_attempt_at'], ['failure', "state = 'failed'"]] as const) {
      const settlement = plans.find((p) => p.query.includes('UPDATE messages m SET') && p.query.includes(marker))
      t.ok(settlement, `the ${what}'s statement was explained`)
      if (settlement === undefined) continue
      const reads = nodesOf(settlement.plan).filter((n) => n['Relation Name'] === 'messages' && n['Node Type'] !== 'ModifyTable')
      t.same(reads.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`.trim()), ['Index Scan messages_pkey'], `the ${what} reads messages through their primary key only`)
      t.equal(rowsRead(reads), 1000, `the ${what} reads its 1,000 messages and no other`)
    }
    const stats = (await onTestDatabase<{ state: string; n: string }>(url, 'SELECT state, count(*) AS n FROM messages GROUP BY state ORDER BY state'))
      .map((row) => `${row.state} ${row.n}`)
    t.same(stats, ['failed 1000', 'queued 18000', 'submitted 1060'], 'each settled as it was told')

    // A claim whose lease ran out: the next claim ends it, counting an attempt for each of its
    // messages, found by key (only those).
    const lapsed = await relay.claimDue(3000, 1000, 1000)
    plans.length = 0
    const next = await relay.claimDue(5000, 1000, 60_000)
    t.same(next.map((m) => m.id), lapsed.map((m) => m.id), 'the lapsed claim\'s messages are claimed again')
    t.ok(next.every((m) => m.attempts === 2), 'at their second attempt: the lapsed one counted')
    const expiry = plans.find((p) => p.query.includes('SET attempts = m.attempts + 1'))
    t.ok(expiry, 'the expiry\'s statement was explained')
    const read = expiry === undefined ? Number.NaN : rowsRead(nodesOf(expiry.plan).filter((n) => n['Relation Name'] === 'messages' && n['Node Type'] !== 'ModifyTable'))
    t.equal(read, 1000, 'the expiry reads its 1,000 messages and no other')
  })
}

t.test('with the statistics of a full queue and half of it since sent, a claim reads the queue through the due index alone, never the messages sent', options, async (t) => {
  const { url, plans, accept, relay } = await explainedRelay(t)
  await accept(batch('a'), messages(10_000))
  await accept(batch('b'), messages(10_000))
  await onTestDatabase(url, 'ANALYZE messages')
  // Half of them sent since the statistics were taken; one claim of the rest still open.
  for (let k = 0; k < 10; k++) {
    const claimed = await relay.claimDue(2000, 1000, 60_000)
    await relay.markSubmitted(claimed.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `p-${m.id}` })), 2001)
  }
  const open = await relay.claimDue(2000, 1000, 60_000)
  plans.length = 0
  const next = await relay.claimDue(2000, 1000, 60_000)
  t.equal(new Set([...open, ...next].map((m) => m.id)).size, 2000, 'two more claims of 1,000, none twice')
  const queueReads = plans.filter((p) => p.query.includes('FROM messages m WHERE g.kind'))
  t.equal(queueReads.length, 2, 'the claim\'s two reads of the queue were explained: when the next is due, and which are due')
  for (const read of queueReads) {
    const scans = nodesOf(read.plan).filter((n) => n['Relation Name'] === 'messages')
    t.same([...new Set(scans.map((n) => n['Index Name']))], ['messages_due'], 'the queue is read through the due index alone')
    t.ok(rowsRead(scans) <= 1000, `no more than the claim takes (${rowsRead(scans)} rows read)`)
  }
})
