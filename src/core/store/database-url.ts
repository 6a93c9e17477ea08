/** What kind of database a `DATABASE_URL` names: the one place that tells them apart. */

/** A PostgreSQL URL: `postgres://…` or `postgresql://…`. */
export function isPostgresUrl (url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url)
}

/** A SQLite file: `sqlite:<path>`, `file:<path>`, a bare path, or `sqlite::memory:`. */
export function isSqliteUrl (url: string): boolean {
  return /^(sqlite:|file:)?[^:]+$|^sqlite::memory:$/.test(url)
}
