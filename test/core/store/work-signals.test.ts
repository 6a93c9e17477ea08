import { createServer } from 'node:net'
import pg from 'pg'
import t, { type Test } from 'tap'
import { openPgStore, type PgStoreOptions } from '../../../src/core/store/pg-store.js'
import { createPgWorkSignals, parseSignal, workChannel } from '../../../src/core/store/pg-work-signals.js'
import { openSqliteStore } from '../../../src/core/store/sqlite-store.js'
import { openThreadedStore } from '../../../src/core/store/threaded-store.js'
import type { Store, WorkKind } from '../../../src/core/store/store.js'
import { createMemoryDatabase, openMemoryStore } from '../../fakes/memory-store.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from './pg-test-database.js'

// Work signals across the processes on one database: PostgreSQL's are heard by the other
// instances on the same schema (never by their sender), across a dropped connection, and no more
// once stopped; SQLite's go nowhere. Nothing here waits a fixed time: each wait is on what is heard.

/** What a listener heard, in order, and a wait for the count of what it heard to reach a number. */
function recorder () {
  const heard: WorkKind[] = []
  const waiting: Array<{ count: number; resolve: (kinds: WorkKind[]) => void }> = []
  const settle = (): void => {
    for (const w of [...waiting]) {
      if (heard.length < w.count) continue
      waiting.splice(waiting.indexOf(w), 1)
      w.resolve(heard.slice(0, w.count))
    }
  }
  return {
    heard,
    listener: (kind: WorkKind) => {
      heard.push(kind)
      settle()
    },
    /** Resolves with the first `count` kinds heard, once they are. */
    heardUpTo: (count: number) => new Promise<WorkKind[]>((resolve) => {
      waiting.push({ count, resolve })
      settle()
    }),
    /** Resolves with the next kind heard after this call. */
    next (): Promise<WorkKind> {
      return this.heardUpTo(heard.length + 1).then((kinds) => kinds[kinds.length - 1]!)
    }
  }
}

const setting = pgTestSetting()
const pgOptions = 'skip' in setting ? { skip: setting.skip } : {}

/** The URL of the test's own schema (`dir` names it); in CI without DATABASE_URL_TEST, the test fails saying so. */
async function schemaOf (t: Test, dir = t.testdir()): Promise<string> {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  return schemaUrlFor(setting.url, dir)
}

/** A PostgreSQL store, closed at teardown. */
async function pgStore (t: Test, options: PgStoreOptions): Promise<Store> {
  const store = await openPgStore({ poolSize: 2, ...options })
  t.teardown(() => store.close())
  return store
}

/** How many connections the listeners of `store` hold (each is named after its instance). */
async function listenerConnections (url: string, store: Store): Promise<number> {
  const [row] = await onTestDatabase<{ n: number }>(url, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`bridge-listen-${store.instanceId}`])
  return row!.n
}

t.test('PostgreSQL: a listener hears the signals of the other instances on its schema, never its own', pgOptions, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = [await pgStore(t, { url }), await pgStore(t, { url })]
  const elsewhere = await schemaOf(t, `${t.testdir()}-elsewhere`)
  const [c, d] = [await pgStore(t, { url: elsewhere }), await pgStore(t, { url: elsewhere })]
  const onB = recorder()
  const onC = recorder()
  const stopB = await b.listenForWork(onB.listener)
  const stopC = await c.listenForWork(onC.listener)
  t.teardown(async () => { await stopB(); await stopC() })

  const heardByB = onB.heardUpTo(2)
  await b.signalWork(['replies'])
  await a.signalWork(['messages', 'reports'])
  t.same(await heardByB, ['messages', 'reports'], 'each kind A signalled')
  t.same(onB.heard, ['messages', 'reports'], 'not B\'s own signal, sent before A\'s')

  const heardByC = onC.next()
  await a.signalWork(['replies'])
  await d.signalWork(['reports'])
  t.equal(await heardByC, 'reports', 'a store on another schema hears its own schema\'s signals')
  t.same(onC.heard, ['reports'], 'and not those of another schema, sent before')
})

t.test('PostgreSQL: a stopped listener hears nothing more and leaves no connection; each listener has its own', pgOptions, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = [await pgStore(t, { url }), await pgStore(t, { url })]
  const first = recorder()
  const second = recorder()
  const stopFirst = await b.listenForWork(first.listener)
  const stopSecond = await b.listenForWork(second.listener)
  t.equal(await listenerConnections(url, b), 2, 'a connection for each listener')

  const both = Promise.all([first.next(), second.next()])
  await a.signalWork(['messages'])
  t.same(await both, ['messages', 'messages'], 'both hear a signal')

  await stopFirst()
  await stopFirst()
  t.equal(await listenerConnections(url, b), 1, 'the stopped listener\'s connection is closed')
  const heard = second.next()
  await a.signalWork(['reports'])
  t.equal(await heard, 'reports', 'the other listener hears the next signal')
  t.same(first.heard, ['messages'], 'the stopped one does not')

  await stopSecond()
  t.equal(await listenerConnections(url, b), 0, 'no connection left')
})

t.test('PostgreSQL: closing the store stops its listeners', pgOptions, async (t) => {
  const url = await schemaOf(t)
  const store = await openPgStore({ url, poolSize: 1 })
  await store.listenForWork(() => {})
  t.equal(await listenerConnections(url, store), 1)
  await store.close()
  t.equal(await listenerConnections(url, store), 0)
  await t.rejects(store.listenForWork(() => {}), 'a closed store listens no more')
})

t.test('PostgreSQL: a listener whose connection the server ends listens again', pgOptions, async (t) => {
  const url = await schemaOf(t)
  const a = await pgStore(t, { url })
  let reported!: (err: Error) => void
  const lost = new Promise<Error>((resolve) => { reported = resolve })
  const b = await pgStore(t, { url, onConnectionError: (err) => reported(err) })
  const onB = recorder()
  const stop = await b.listenForWork(onB.listener)
  t.teardown(stop)

  const [killed] = await onTestDatabase<{ n: number }>(url, 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [`bridge-listen-${b.instanceId}`])
  t.equal(killed!.n, 1, 'the listener\'s connection was ended by the server')
  t.match(await lost, { code: '57P01' }, 'reported, never thrown')

  // Signals sent while it reconnects are lost (they are hints): A signals until one is heard.
  let heard = false
  const arrived = onB.next().then(() => { heard = true })
  let sent = 0
  while (!heard) {
    await a.signalWork(['messages'])
    sent++
    await Promise.race([arrived, a.ping()])
  }
  t.ok(sent >= 1, `heard again after ${sent} signal(s)`)
  t.equal(await listenerConnections(url, b), 1, 'on a connection of its own again')
})

t.test('PostgreSQL: what is not a signal of ours is ignored; kinds we do not know are left out', pgOptions, async (t) => {
  const url = await schemaOf(t)
  const [a, b] = [await pgStore(t, { url }), await pgStore(t, { url })]
  const onB = recorder()
  t.teardown(await b.listenForWork(onB.listener))
  const [{ schema }] = await onTestDatabase<{ schema: string }>(url, 'SELECT current_schema() AS schema') as [{ schema: string }]
  const heard = onB.heardUpTo(2)
  for (const payload of ['not json', '[1]', 'null', '{"kinds":["messages"]}', '{"from":"x","kinds":"messages"}', '{"from":"x","kinds":["bogus","replies"]}']) {
    await onTestDatabase(url, 'SELECT pg_notify($1, $2)', [workChannel(schema), payload])
  }
  await a.signalWork(['reports'])
  t.same(await heard, ['replies', 'reports'], 'the known kind of a well-formed signal, then A\'s')
})

t.test('a listener that cannot connect reports each failure and tries again, until stopped', async (t) => {
  // A port nobody listens on: every attempt is refused at once.
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const { port } = closed.address() as { port: number }
  await new Promise((resolve) => closed.close(resolve))
  const url = `postgres://bridge:secret@127.0.0.1:${port}/bridge`
  const failures: Error[] = []
  let failed!: () => void
  const twice = new Promise<void>((resolve) => { failed = resolve })
  const pool = new pg.Pool({ connectionString: url })
  t.teardown(() => pool.end())
  const signals = createPgWorkSignals(pool, {
    url, schema: 'public', instanceId: 'i', connectionTimeoutMs: 1000,
    onConnectionError: (err) => { if (failures.push(err) === 2) failed() }
  })
  const stop = await signals.listenForWork(() => {})
  t.equal(failures.length, 1, 'the first attempt failed before listenForWork resolved, and was reported')
  // The reconnection's timer never keeps a process alive: this test does, while it waits for it.
  const alive = setInterval(() => {}, 60_000)
  await twice
  clearInterval(alive)
  t.match(failures[1], { code: 'ECONNREFUSED' }, 'then it tried again')
  t.notOk(failures.some((err) => /secret/.test(String(err.message))), 'no failure shows the password')
  await stop()
  await stop()
  t.pass('stopped while waiting to reconnect (the process can exit: nothing is left pending)')
})

t.test('signal payloads and channel names', async (t) => {
  t.same(parseSignal('{"from":"a","kinds":["messages","reports","replies"]}'), { from: 'a', kinds: ['messages', 'reports', 'replies'] })
  t.same(parseSignal('{"from":"a","kinds":["nope"]}'), { from: 'a', kinds: [] })
  for (const payload of [undefined, '', 'x', '1', 'null', '[]', '{"from":1,"kinds":[]}', '{"from":"a"}']) t.equal(parseSignal(payload), undefined, `not a signal: ${String(payload)}`)
  t.equal(workChannel('bridge'), 'bridge_work_bridge')
  const long = workChannel('s'.repeat(60))
  t.ok(Buffer.byteLength(long) <= 63 && long.startsWith('bridge_work_'), 'a schema too long for an identifier is hashed')
  t.not(workChannel('s'.repeat(60)), workChannel('t'.repeat(60)), 'each such schema its own channel')
})

const sqliteAdapters: Array<[string, (path: string) => Promise<Store>]> = [
  ['SQLite', async (path) => openSqliteStore({ path })],
  ['SQLite on its own thread', (path) => openThreadedStore({ path })]
]

for (const [name, open] of sqliteAdapters) {
  t.test(`${name}: a signal resolves and goes nowhere; a listener is never called`, async (t) => {
    const path = `${t.testdir()}/bridge.db`
    const [a, b] = [await open(path), await open(path)]
    t.teardown(async () => { await a.close(); await b.close() })
    const onB = recorder()
    const stop = await b.listenForWork(onB.listener)
    await a.signalWork(['messages', 'reports', 'replies'])
    await b.signalWork(['messages'])
    // Calls that go to the database and back: a signal, were there one, would have come by now.
    await a.ping()
    await b.ping()
    t.same(onB.heard, [], 'nothing heard')
    await stop()
  })
}

t.test('in memory: stores on one database hear each other\'s signals, never their own, and nothing once stopped', async (t) => {
  const database = createMemoryDatabase()
  const [a, b, c] = [openMemoryStore({ database }), openMemoryStore({ database }), openMemoryStore({ database })]
  t.teardown(async () => { for (const store of [a, b, c]) await store.close() })
  const onB = recorder()
  const onC = recorder()
  const stop = await b.listenForWork(onB.listener)
  await c.listenForWork(onC.listener)
  const heard = onB.heardUpTo(2)
  await b.signalWork(['replies'])
  await a.signalWork(['messages', 'reports'])
  t.same(await heard, ['messages', 'reports'])
  t.same(onB.heard, ['messages', 'reports'], 'not its own')
  t.same(await onC.heardUpTo(3), ['replies', 'messages', 'reports'], 'another store hears them all')
  await stop()
  const witnessed = onC.next()
  await a.signalWork(['replies'])
  t.equal(await witnessed, 'replies', 'another listener hears the next signal')
  t.same(onB.heard, ['messages', 'reports'], 'the stopped one does not')
})
