import t, { type Test } from 'tap'
import Database from 'better-sqlite3'
import { createGroupCommit } from '../../../src/core/store/group-commit.js'

// Group commit on its own (an SQLite adapter internal, so this test uses SQL): which writes
// share a transaction, when each caller is answered, and what one failing write does.
// A second connection tells what is committed: it sees a group's rows only once the group is.

function databases (t: Test): { db: Database.Database; reader: Database.Database; committed: () => number } {
  const path = `${t.testdir()}/group.db`
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('busy_timeout = 0')
  db.exec('CREATE TABLE items (name TEXT NOT NULL UNIQUE)')
  const reader = new Database(path)
  t.teardown(() => { reader.close(); db.close() })
  const count = reader.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM items')
  return { db, reader, committed: () => count.get()!.n }
}

/** A group commit inserting names, noting for each how many rows another connection saw as committed when it was applied. */
function inserter (db: Database.Database, committed: () => number, options?: { maxItems?: number; busyBudgetMs?: number }) {
  const seenAtApply = new Map<string, number>()
  const insert = db.prepare('INSERT INTO items (name) VALUES (?)')
  const group = createGroupCommit<string, string>(db, (name) => {
    seenAtApply.set(name, committed())
    insert.run(name)
    if (name.startsWith('boom')) throw new Error(`refused ${name}`)
    return `stored ${name}`
  }, options)
  return { group, seenAtApply }
}

t.test('writes that arrive together share one transaction; each caller is answered once it is committed', async (t) => {
  const { db, committed } = databases(t)
  const { group, seenAtApply } = inserter(db, committed)
  const names = ['a', 'b', 'c', 'd', 'e']
  const committedWhenAnswered: number[] = []
  const answers = await Promise.all(names.map((name) => group.write(name).then((answer) => {
    committedWhenAnswered.push(committed())
    return answer
  })))
  t.same(answers, names.map((n) => `stored ${n}`))
  t.same([...seenAtApply.values()], [0, 0, 0, 0, 0], 'none of the five was committed while the others were applied: one transaction')
  t.same(committedWhenAnswered, [5, 5, 5, 5, 5], 'every caller was answered after the whole group was committed')
})

t.test('maxItems bounds a group: the next writes start a group of their own', async (t) => {
  const { db, committed } = databases(t)
  const { group, seenAtApply } = inserter(db, committed, { maxItems: 2 })
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((name) => group.write(name)))
  t.same([...seenAtApply.entries()], [['a', 0], ['b', 0], ['c', 2], ['d', 2], ['e', 4]], 'groups of two, each committed before the next')
})

t.test('a write that fails fails alone: the others of its group are committed, its own rows are not', async (t) => {
  const { db, committed, reader } = databases(t)
  const { group } = inserter(db, committed)
  const results = await Promise.allSettled(['a', 'boom-1', 'b', 'a'].map((name) => group.write(name)))
  t.match(results, [
    { status: 'fulfilled', value: 'stored a' },
    { status: 'rejected', reason: { message: 'refused boom-1' } },
    { status: 'fulfilled', value: 'stored b' },
    { status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_UNIQUE' } }
  ])
  t.same(reader.prepare('SELECT name FROM items ORDER BY name').all(), [{ name: 'a' }, { name: 'b' }], 'the failed writes left nothing behind')
})

t.test('while another connection holds the lock, a group waits for it and is committed once it is free', async (t) => {
  const { db, committed, reader } = databases(t)
  const { group } = inserter(db, committed, { busyBudgetMs: 10_000 })
  reader.exec('BEGIN IMMEDIATE')
  const writing = Promise.all([group.write('a'), group.write('b')])
  // Let the first try meet the lock; the group then retries asynchronously.
  await new Promise((resolve) => setImmediate(resolve))
  reader.exec('COMMIT')
  t.same(await writing, ['stored a', 'stored b'])
  t.equal(committed(), 2)
})

t.test('a lock held past the busy budget: every caller of the group is refused with the busy error, nothing is written', async (t) => {
  const { db, committed, reader } = databases(t)
  const { group } = inserter(db, committed, { busyBudgetMs: 20 })
  reader.exec('BEGIN IMMEDIATE')
  const results = await Promise.allSettled([group.write('a'), group.write('b')])
  reader.exec('COMMIT')
  t.match(results, [{ status: 'rejected', reason: { code: /^SQLITE_BUSY/ } }, { status: 'rejected', reason: { code: /^SQLITE_BUSY/ } }])
  t.equal(committed(), 0)
})

t.test('flush() commits what is queued at once, without waiting for the next turn of the event loop', async (t) => {
  const { db, committed } = databases(t)
  const { group } = inserter(db, committed)
  const writing = group.write('a')
  group.flush()
  t.equal(committed(), 1, 'committed synchronously by flush()')
  t.equal(await writing, 'stored a')
  group.flush()
  t.equal(committed(), 1, 'a flush with nothing queued writes nothing')
})
