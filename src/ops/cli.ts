import { existsSync } from 'node:fs'
import { openStore } from '../core/store/open-store.js'
import { isSqliteUrl } from '../core/store/database-url.js'
import { sqlitePathFromUrl } from '../core/store/sqlite-store.js'
import { databaseUrlSchema } from '../config.js'
import { loadEnvFileIfPresent } from '../env-file.js'
import { OPS_COMMANDS, OpsNotFoundError, OpsUsageError, opsParamsFromArgs, opsUsage } from './commands.js'

/** sysexits.h: a wrong command line, nothing to act on, a bad configuration, a database out of reach. */
const EX_USAGE = 64
const EX_NOINPUT = 66
const EX_UNAVAILABLE = 69
const EX_CONFIG = 78

/**
 * `npm run ops -- <command> [args]`: one operator's command against the store DATABASE_URL names
 * (the environment, or a .env file as the service reads it), its result printed as JSON.
 */
async function main (argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv
  const command = name === undefined || !Object.hasOwn(OPS_COMMANDS, name) ? undefined : OPS_COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`${name === undefined ? 'no command given' : `unknown command: ${name}`}\n${opsUsage()}\n`)
    return EX_USAGE
  }
  let params
  try {
    params = opsParamsFromArgs(command, args)
  } catch (err) {
    if (!(err instanceof OpsUsageError)) throw err
    process.stderr.write(`${err.message}\n${opsUsage()}\n`)
    return EX_USAGE
  }
  loadEnvFileIfPresent()
  // Read as the service reads it: a blank value counts as unset.
  const parsed = databaseUrlSchema.safeParse(process.env.DATABASE_URL?.trim() || undefined)
  if (!parsed.success) {
    process.stderr.write(`Invalid configuration: DATABASE_URL ${parsed.error.issues[0]!.message}\n`)
    return EX_CONFIG
  }
  const url = parsed.data
  // An operator's typo must not create an empty database somewhere else.
  if (isSqliteUrl(url) && !existsSync(sqlitePathFromUrl(url))) {
    process.stderr.write(`no database at ${sqlitePathFromUrl(url)} (DATABASE_URL)\n`)
    return EX_UNAVAILABLE
  }
  let store
  try {
    store = await openStore(url, { poolSize: 2 })
  } catch (err) {
    process.stderr.write(`the database could not be opened: ${(err as Error).message}\n`)
    return EX_UNAVAILABLE
  }
  try {
    const result = await command.run(store, params, Date.now())
    // What it made due goes now on every replica of a PostgreSQL store (a replica on SQLite finds it at its idle poll).
    if (command.wakes.length > 0) await store.signalWork(command.wakes)
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    return 0
  } catch (err) {
    if (!(err instanceof OpsNotFoundError)) throw err
    process.stderr.write(`${err.message}\n`)
    return EX_NOINPUT
  } finally {
    await store.close()
  }
}

process.exitCode = await main(process.argv.slice(2))
