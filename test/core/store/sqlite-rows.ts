import Database from 'better-sqlite3'

// For the SQLite adapter's own tests only: its rows as SQL returns them, read from outside
// the store. Every other test reads through the store's inspection role (`inspectStoreAt`).

export interface StoredMessage {
  reference: string
  mobile_number: string
  /** The number exactly as Optimove sent it, when it differs from `mobile_number`. */
  given_number: string | null
  customer_id: string
  body: string
  state: string
  next_attempt_at: number
  final_outcome: string | null
  last_error: string | null
}

/** The rows of a SQLite database file, read with SQL from outside the store. */
export function readDatabase (path: string): { batches: Array<Record<string, any>>; messages: StoredMessage[]; reports: Array<Record<string, any>> } {
  const db = new Database(path, { readonly: true })
  try {
    return {
      batches: db.prepare('SELECT * FROM batches ORDER BY id').all() as Array<Record<string, any>>,
      messages: db.prepare('SELECT * FROM messages ORDER BY id').all() as StoredMessage[],
      reports: db.prepare('SELECT * FROM reports ORDER BY id').all() as Array<Record<string, any>>
    }
  } finally {
    db.close()
  }
}
