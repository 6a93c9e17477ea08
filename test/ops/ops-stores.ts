import Database from 'better-sqlite3'
import { openStore } from '../../src/core/store/open-store.js'
import type { NewMessage, Store } from '../../src/core/store/store.js'
import { onTestDatabase, pgTestSetting, schemaUrlFor } from '../core/store/pg-test-database.js'

// The stores the operator's CLI is tested against, and what its tests set up and read.

const pg = pgTestSetting()
export const stores: Array<[name: string, url: (dir: string) => Promise<string>, options: { skip?: string }]> = [
  ['SQLite', async (dir) => `sqlite:${dir}/bridge.db`, {}],
  ['PostgreSQL', async (dir) => {
    if (!('url' in pg)) throw new Error('missing' in pg ? pg.missing : pg.skip)
    return schemaUrlFor(pg.url, dir)
  }, 'skip' in pg ? { skip: pg.skip } : {}]
]


export function batchOf (registrationId: string, n: number) {
  return { registrationId, idempotencyKey: `k-${registrationId}-${n}`, batchId: `batch-${n}`, requestId: `request-${n}`, senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 900 }
}

export function to (mobileNumber: string): NewMessage {
  return { mobileNumber, customerId: `customer-${mobileNumber.slice(-1)}`, text: 'hello' }
}

export function bad (mobileNumber: string): NewMessage {
  return { ...to(mobileNumber), failure: { outcome: 'invalid-recipient', reason: 'not a number' } }
}

export async function inspect (url: string): ReturnType<Store['inspect']> {
  const store = await openStore(url)
  try {
    return await store.inspect()
  } finally {
    await store.close()
  }
}

/** Every row of every table of the database, as text: what an erasure must leave no trace in. */
export async function everyTableAsText (url: string): Promise<string> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true })
    try {
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      return JSON.stringify(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]))
    } finally {
      db.close()
    }
  }
  const tables = await onTestDatabase<{ name: string }>(url, 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()')
  if (tables.length < 9) throw new Error(`only ${tables.length} tables found in the test schema`)
  const rows = []
  for (const { name } of tables) rows.push([name, await onTestDatabase(url, `SELECT * FROM "${name}"`)])
  return JSON.stringify(rows)
}
