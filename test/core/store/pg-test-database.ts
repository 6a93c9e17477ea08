import { createHash } from 'node:crypto'
import pg from 'pg'
import t from 'tap'

// The PostgreSQL database the store tests use: DATABASE_URL_TEST names it, and each test gets
// a schema of its own in it (the store finds it through the URL's `options=-c search_path=…`, as
// a deployment chooses its schema). Without the variable, the PostgreSQL tests are skipped with a
// visible reason, except in CI (CI=true), where they fail saying what is missing.

/** Why the PostgreSQL tests are skipped here. */
export const PG_SKIP_REASON = 'DATABASE_URL_TEST is not set: PostgreSQL tests skipped'
/** Why they fail in CI without the variable. */
export const PG_MISSING = 'DATABASE_URL_TEST is not set: CI must run the PostgreSQL tests (set it to a database the tests may create schemas in)'

/** What this run does about PostgreSQL: run against `url`, skip (with a reason), or fail (`missing`). */
export type PgTestSetting = { url: string } | { skip: string } | { missing: string }

export function pgTestSetting (env: Record<string, string | undefined> = process.env): PgTestSetting {
  const url = env.DATABASE_URL_TEST
  if (url !== undefined && url !== '') return { url }
  return env.CI === 'true' ? { missing: PG_MISSING } : { skip: PG_SKIP_REASON }
}

/** Schemas this process created, dropped when the test file ends. */
const created = new Set<string>()
let dropRegistered = false

/** `url` with the connection's search_path set to `schema`. */
export function withSchema (url: string, schema: string): string {
  const u = new URL(url)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return u.href
}

/** Runs `sql` on a connection of its own to the test database. */
export async function onTestDatabase<T extends pg.QueryResultRow = pg.QueryResultRow> (url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * The URL of the schema of `dir` (a test's own folder): empty at its first use in this process
 * (a schema left by an earlier run is dropped), the same schema when the test opens it again (as
 * a SQLite file in `dir` would be), and dropped when the test file ends.
 */
export async function schemaUrlFor (url: string, dir: string): Promise<string> {
  const schema = `bridge_test_${createHash('sha256').update(dir).digest('hex').slice(0, 20)}`
  if (!created.has(schema)) {
    created.add(schema)
    if (!dropRegistered) {
      dropRegistered = true
      t.teardown(() => onTestDatabase(url, `DROP SCHEMA IF EXISTS ${[...created].join(', ')} CASCADE`))
    }
    await onTestDatabase(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`)
  }
  return withSchema(url, schema)
}
