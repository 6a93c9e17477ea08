import pg from 'pg'

export interface PgPoolOptions {
  /** `postgres://…` or `postgresql://…`; TLS as its `sslmode` says, the schema as its `options=-c search_path=…` says. */
  url: string
  /** Connections at most (default 10), per process. */
  poolSize?: number
  /** The server cancels a statement that runs longer (default 30 s). */
  statementTimeoutMs?: number
  /** How long a call waits for a connection, a new one or one of the pool's (default 10 s). */
  connectionTimeoutMs?: number
  /**
   * Told of a connection that failed while idle (the server went away): a pooled one (the pool
   * opens another when needed), or a work listener's (it reconnects).
   */
  onConnectionError?: (err: Error) => void
}

/** How long a connection attempt may take, unless `connectionTimeoutMs` says otherwise. */
export const PG_CONNECTION_TIMEOUT_MS = 10_000

/** How far past the statement timeout the client gives up on an answer that never comes (a silent network). */
const CLIENT_TIMEOUT_MARGIN_MS = 5000

/** BIGINT (type 20): times, counts and ids are epoch milliseconds or row numbers, all far below 2^53. */
const parseBigint = (value: string): number => Number(value)

/** This pool's type parsers: BIGINT as a number, everything else as pg parses it. pg's global parsers stay untouched. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? parseBigint : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser
}

/**
 * The PostgreSQL store's connections: a bounded pool, each connection with its statement
 * timeout (and the same bound on a transaction left idle), a bounded wait for a connection, and
 * BIGINT read as numbers. A connection that drops while idle is reported, never thrown: an
 * unhandled `error` event would end the process.
 */
export function createPgPool (options: PgPoolOptions): pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? PG_CONNECTION_TIMEOUT_MS,
    keepAlive: true,
    types: TYPES
  })
  pool.on('error', (err) => options.onConnectionError?.(err))
  pool.on('connect', (client) => {
    withoutNulCharacters(client)
    // The pool listens for errors of idle connections only: one checked out (a transaction
    // between its statements) that loses its server would emit an `error` nobody hears, and
    // end the process. Its caller learns of the loss from the statement that fails next.
    client.on('error', () => {})
  })
  return pool
}

/** What PostgreSQL's text cannot hold (every other character it can), and what stands for it. */
const NUL = '\u0000'
const REPLACEMENT = '\uFFFD'

/** `text` as PostgreSQL can hold it: U+0000 written as U+FFFD. */
export function pgText (text: string): string {
  return text.includes(NUL) ? text.replaceAll(NUL, REPLACEMENT) : text
}

/** A string parameter (or an array's strings) with U+0000 written as U+FFFD; anything else as it is. */
function scrub (value: unknown): unknown {
  if (typeof value === 'string') return pgText(value)
  if (Array.isArray(value) && value.some((v) => typeof v === 'string' && v.includes(NUL))) return value.map(scrub)
  return value
}

/**
 * PostgreSQL's text cannot hold U+0000 (SQLite's can): a statement given one fails, and an
 * insert that always fails would be answered 503 and retried by its peer for ever. Every
 * connection of the pool writes it as U+FFFD instead (the pool's own queries go through the
 * connection's), the one character the PostgreSQL store does not keep as given.
 */
function withoutNulCharacters (client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    if (Array.isArray(values)) return query(text, values.map(scrub), callback)
    // A query config (not a submittable, e.g. a cursor, which is passed on as it is).
    if (text !== null && typeof text === 'object' && !('submit' in text) && Array.isArray((text as pg.QueryConfig).values)) {
      return query({ ...(text as pg.QueryConfig), values: (text as pg.QueryConfig).values!.map(scrub) }, values, callback)
    }
    return query(text, values, callback)
  }) as typeof client.query
}

/** What a query runs on: the pool (a statement on its own is a transaction) or a transaction's connection. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

/**
 * Runs `work` in one transaction on one connection (`begin` may ask for an isolation level):
 * committed when it resolves, rolled back when it throws. A connection whose rollback fails is
 * broken (one that was lost refuses every statement at once), and is closed instead of going
 * back to the pool.
 */
export async function inTransaction<T> (pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query(begin)
    const result = await work(client)
    await client.query('COMMIT')
    client.release()
    return result
  } catch (err) {
    await client.query('ROLLBACK').then(() => client.release(), (rollbackErr: Error) => client.release(rollbackErr))
    throw err
  }
}

/** A port's id (a string) as the database's, or undefined when no row can have it (not a whole number). */
export function dbId (id: string): number | undefined {
  return /^\d{1,15}$/.test(id) ? Number(id) : undefined
}
