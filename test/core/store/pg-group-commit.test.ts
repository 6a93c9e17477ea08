import t, { type Test } from 'tap'
import { createPgPool, type Queryable } from '../../../src/core/store/pg-pool.js'
import { createPgGroupCommit } from '../../../src/core/store/pg-group-commit.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from './pg-test-database.js'

// Group commit on PostgreSQL: writes that arrive together share one transaction; one that
// fails fails alone.

const setting = pgTestSetting()
const options = 'skip' in setting ? { skip: setting.skip } : {}

async function notes (t: Test) {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const url = await schemaUrlFor(setting.url, t.testdir())
  await onTestDatabase(url, 'CREATE TABLE notes (n INTEGER NOT NULL, tx BIGINT NOT NULL)')
  const pool = createPgPool({ url, poolSize: 4 })
  t.teardown(() => pool.end())
  /** Stores `n` (a failing statement for a negative one) with its transaction's id; answers `n`. */
  const write = async (on: Queryable, n: number): Promise<number> => {
    await on.query('INSERT INTO notes (n, tx) VALUES ($1, CASE WHEN $1 < 0 THEN 1 / 0 ELSE txid_current() END)', [n])
    return n
  }
  const stored = async () => (await pool.query<{ n: number; tx: number }>('SELECT n, tx FROM notes ORDER BY tx, n')).rows
  return { pool, write, stored }
}

t.test('writes that arrive together share one transaction, each caller answered with its own result, applied in lock order', options, async (t) => {
  const { pool, write, stored } = await notes(t)
  const applied: number[] = []
  const group = createPgGroupCommit(pool, async (on, n: number) => { applied.push(n); return write(on, n) }, { lockOrder: (a, b) => a - b })
  t.same(await Promise.all([3, 1, 2].map((n) => group.write(n))), [3, 1, 2])
  t.same(applied, [1, 2, 3], 'applied in lock order')
  const rows = await stored()
  t.equal(new Set(rows.map((r) => r.tx)).size, 1, 'one transaction')
  t.same(rows.map((r) => r.n), [1, 2, 3])
})

t.test('a write that fails fails alone: the others of its group are stored, each in a transaction of its own', options, async (t) => {
  const { pool, write, stored } = await notes(t)
  const group = createPgGroupCommit(pool, write)
  const results = await Promise.allSettled([1, -1, 2].map((n) => group.write(n)))
  t.match(results, [{ status: 'fulfilled', value: 1 }, { status: 'rejected', reason: { message: /division by zero/ } }, { status: 'fulfilled', value: 2 }])
  const rows = await stored()
  t.same(rows.map((r) => r.n), [1, 2])
  t.equal(new Set(rows.map((r) => r.tx)).size, 2, 'tried again one by one')
})

t.test('a group holds `maxItems` writes at most; writes of later turns form groups of their own', options, async (t) => {
  const { pool, write, stored } = await notes(t)
  const group = createPgGroupCommit(pool, write, { maxItems: 2 })
  await Promise.all([1, 2, 3].map((n) => group.write(n)))
  await group.write(4)
  const byTx = new Map<number, number[]>()
  for (const r of await stored()) byTx.set(r.tx, [...(byTx.get(r.tx) ?? []), r.n])
  // Groups run side by side: their transactions' order is not theirs to keep.
  t.same([...byTx.values()].sort((a, b) => a[0]! - b[0]!), [[1, 2], [3], [4]])
})
