import { execFile } from 'node:child_process'
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { freeLoopbackPort } from '../../src/sim/http-server.js'

// A PostgreSQL server of a test's own, for what the shared test database cannot show: the
// server itself stopped and started again. Built from the server binaries on this machine
// (Debian's `postgresql` package, which `.ci/run` installs): a cluster in a temporary folder,
// trust authentication, 127.0.0.1 only, a free port, removed at teardown. Without the binaries
// the tests that need it are skipped with that reason, except in CI (CI=true), where they fail.

const run = promisify(execFile)
const ROOTS = ['/usr/lib/postgresql']

/** The folder of the newest server binaries (`PG_BIN` when set), if any. */
async function serverBinaries (): Promise<string | undefined> {
  const given = process.env.PG_BIN
  if (given !== undefined && given !== '') return existsSync(join(given, 'initdb')) ? given : undefined
  for (const root of ROOTS) {
    const versions = await readdir(root).catch(() => [] as string[])
    const bins = versions.sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, 'bin')).filter((bin) => existsSync(join(bin, 'initdb')))
    if (bins.length > 0) return bins[0]
  }
  return undefined
}

export type OwnPostgresSetting = { bin: string } | { skip: string } | { missing: string }

export async function ownPostgresSetting (): Promise<OwnPostgresSetting> {
  const bin = await serverBinaries()
  if (bin !== undefined) return { bin }
  const why = 'PostgreSQL server binaries not found (install Debian\'s postgresql package or set PG_BIN)'
  return process.env.CI === 'true' ? { missing: `${why}: CI must run this test` } : { skip: `${why}: test skipped` }
}

export interface OwnPostgres {
  url: string
  /** Stops the server as an operator would (`pg_ctl stop -m fast`: sessions are ended, connections refused). */
  stop: () => Promise<void>
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start: () => Promise<void>
}

/** A fresh cluster, started; stopped and removed when `t` ends. */
export async function ownPostgres (t: Test, bin: string): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-own-pg-'))
  // The server refuses to run as root: as root, the cluster belongs to the `postgres` user.
  let owner: { uid: number; gid: number } | undefined
  if (process.getuid?.() === 0) {
    const id = async (flag: string): Promise<number> => Number((await run('id', [flag, 'postgres'])).stdout.trim())
    owner = { uid: await id('-u'), gid: await id('-g') }
    await chown(dir, owner.uid, owner.gid)
  }
  const asOwner = async (command: string, args: string[]): Promise<void> => {
    await run(join(bin, command), args, { ...owner, cwd: dir })
  }
  const port = await freeLoopbackPort()
  const data = join(dir, 'data')
  await asOwner('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  const start = (): Promise<void> => asOwner('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start'])
  await start()
  t.teardown(async () => {
    await asOwner('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => asOwner('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start
  }
}
