import t, { type Test } from 'tap'
import { createPgPool, inTransaction } from '../../../src/core/store/pg-pool.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from './pg-test-database.js'

// The PostgreSQL store's connections: what happens to a transaction, and to its connection,
// when the server ends the session in the middle of it.

const setting = pgTestSetting()
const options = 'skip' in setting ? { skip: setting.skip } : {}

async function schemaOf (t: Test): Promise<string> {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  return schemaUrlFor(setting.url, t.testdir())
}

t.test('a connection lost in the middle of a transaction: the transaction fails and keeps nothing, the connection is closed, and the next transaction runs on a new one', options, async (t) => {
  const url = await schemaOf(t)
  await onTestDatabase(url, 'CREATE TABLE notes (text TEXT NOT NULL)')
  const pool = createPgPool({ url, poolSize: 1 })
  t.teardown(() => pool.end())
  const pids: number[] = []
  const backend = async (client: { query: (sql: string) => Promise<{ rows: Array<{ pid: number }> }> }): Promise<number> => (await client.query('SELECT pg_backend_pid() AS pid')).rows[0]!.pid

  await t.rejects(inTransaction(pool, async (client) => {
    await client.query("INSERT INTO notes VALUES ('lost')")
    pids.push(await backend(client))
    await onTestDatabase(url, 'SELECT pg_terminate_backend($1)', [pids[0]])
    await client.query("INSERT INTO notes VALUES ('after the loss')")
  }), 'the transaction fails')
  t.equal(pool.totalCount, 0, 'the lost connection went out of the pool')

  const notes = await inTransaction(pool, async (client) => {
    pids.push(await backend(client))
    return (await client.query<{ text: string }>('SELECT text FROM notes')).rows.map((r) => r.text)
  })
  t.same(notes, [], 'nothing of the failed transaction was kept')
  t.not(pids[1], pids[0], 'the next transaction ran on a new connection')
})

t.test('a transaction that throws is rolled back, and its connection serves the next one', options, async (t) => {
  const url = await schemaOf(t)
  await onTestDatabase(url, 'CREATE TABLE notes (text TEXT NOT NULL)')
  const pool = createPgPool({ url, poolSize: 1 })
  t.teardown(() => pool.end())
  await t.rejects(inTransaction(pool, async (client) => {
    await client.query("INSERT INTO notes VALUES ('rolled back')")
    throw new Error('the work failed')
  }), { message: 'the work failed' })
  t.equal(pool.idleCount, 1, 'the connection went back to the pool')
  t.same(await inTransaction(pool, async (client) => (await client.query('SELECT text FROM notes')).rows), [], 'nothing kept')
})
