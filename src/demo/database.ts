import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'

const SIDE_FILES = ['', '-wal', '-shm', '-journal']

/**
 * Makes room for a clean demo database at `path`: its folder is created and an earlier
 * database there is deleted. A file named with `--db` is deleted only when it holds nothing
 * but demo batches, so that pointing the demo at a real database cannot wipe it.
 */
export function prepareDemoDatabase (path: string, options: { chosenByUser: boolean }): void {
  mkdirSync(dirname(path), { recursive: true })
  if (options.chosenByUser && existsSync(path)) {
    const reason = notADemoDatabase(path)
    if (reason !== undefined) throw new Error(`refusing to delete ${path}: ${reason}; pass a new path with --db`)
  }
  for (const suffix of SIDE_FILES) rmSync(path + suffix, { force: true })
}

function notADemoDatabase (path: string): string | undefined {
  let db: Database.Database | undefined
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'batches'").get()
    if (table === undefined) {
      const tables = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get()!.n
      return tables === 0 ? undefined : 'it is not a bridge database'
    }
    const other = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM batches WHERE batch_id NOT LIKE 'demo-%'").get()!.n
    return other > 0 ? `it holds ${other} batch(es) that are not the demo's` : undefined
  } catch (err) {
    return `it is not a readable SQLite database (${(err as Error).message})`
  } finally {
    db?.close()
  }
}
