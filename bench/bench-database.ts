import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { isPostgresUrl } from '../src/core/store/database-url.js'

/** The database a benchmark measures, fresh for each run, and which kind it is (printed with the figures). */
export interface BenchDatabase {
  store: 'sqlite' | 'postgresql'
  /** A fresh, empty database's DATABASE_URL (a new SQLite file, or a new PostgreSQL schema). */
  fresh: () => Promise<string>
  /** Removes every database this made. */
  cleanUp: () => Promise<void>
}

/**
 * From DATABASE_URL: PostgreSQL when it is a postgres:// URL (each run in a schema of its own,
 * dropped at the end), else SQLite files in a temporary folder.
 */
export function benchDatabase (name: string): BenchDatabase {
  const url = process.env.DATABASE_URL ?? ''
  if (isPostgresUrl(url)) {
    const schemas: string[] = []
    const run = async (sql: string): Promise<void> => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
      await client.connect()
      try {
        await client.query(sql)
      } finally {
        await client.end()
      }
    }
    return {
      store: 'postgresql',
      fresh: async () => {
        const schema = `bench_${name}_${randomBytes(4).toString('hex')}`
        await run(`CREATE SCHEMA ${schema}`)
        schemas.push(schema)
        const u = new URL(url)
        u.searchParams.set('options', `-c search_path=${schema}`)
        return u.href
      },
      cleanUp: async () => {
        if (schemas.length > 0) await run(`DROP SCHEMA IF EXISTS ${schemas.join(', ')} CASCADE`)
      }
    }
  }
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`))
  let n = 0
  return {
    store: 'sqlite',
    fresh: async () => `sqlite:${join(dir, `bridge-${n++}.db`)}`,
    cleanUp: async () => { rmSync(dir, { recursive: true, force: true }) }
  }
}
