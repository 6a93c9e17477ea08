import { once } from 'node:events'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { killGroup, ROOT, spawnInGroup } from '../helper.js'

// Tests leave nothing behind: a test file that starts the service as a child process and then
// fails, exits or is killed by tap's timeout leaves no process of ours running. Each case runs
// test/fixtures/abandoned-service.ts as a process of its own and then looks for its service.

const FIXTURE = fileURLToPath(new URL('../fixtures/abandoned-service.ts', import.meta.url))
const TAP_RUNNER = fileURLToPath(new URL('../../node_modules/tap/dist/esm/run.mjs', import.meta.url))

/**
 * Removes the fixture's test directories (tap's `.tap/fixtures/<file>-<test name>`): a process
 * killed by tap's timeout had no chance to remove its own.
 */
function removeFixtureTestdirs (): void {
  const dir = join(ROOT, '.tap', 'fixtures')
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const name of names) if (name.startsWith('test-fixtures-abandoned-service.ts-')) rmSync(join(dir, name), { recursive: true, force: true })
}
t.teardown(removeFixtureTestdirs)

/** How long a killed process may take to be gone: the parent watch's interval (200 ms) and then some, on a busy machine. */
const GONE_WITHIN_MS = 10_000

/** This environment without tap's own variables, so that a nested tap run is a run of its own, not part of this one. */
function withoutTap (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^_?TAP|^NODE_OPTIONS$/.test(name)))
}

/**
 * Whether a process runs: it exists and has not ended. An ended process that nobody has reaped
 * yet (a zombie: an orphan waits for init, and some inits never reap) runs nothing, so it counts as gone.
 */
function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw err
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch (err) {
    // Reaped in between; or no /proc (not Linux), where kill's answer is all there is.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT'
  }
}

/**
 * Resolves true once the process is gone, false if it still runs after `withinMs`. It polls:
 * a process that is not our child tells us nothing when it ends.
 */
async function goneWithin (pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}

/**
 * Runs the fixture in `mode` (see test/fixtures/abandoned-service.ts) under `node` or under
 * the tap runner, waits for that process to end, and answers how it ended, its output and the
 * pid of the service it started.
 */
async function runAbandoned (t: Test, mode: string, via: 'node' | 'tap', env: Record<string, string> = {}) {
  const pidFile = `${t.testdir()}/service.pid`
  // A tap run that is not given a list of files to run (`--save`) first deletes the project's
  // `.tap/processinfo`, the one the tap run of this very file is writing to: given one, it
  // leaves it alone.
  const saveList = `${t.testdir()}/tap-save-list`
  if (via === 'tap') writeFileSync(saveList, `${relative(ROOT, FIXTURE)}\n`)
  const args = via === 'tap' ? [TAP_RUNNER, '--reporter=tap', `--save=${saveList}`, FIXTURE] : ['--import', 'tsx', FIXTURE]
  const child = spawnInGroup(process.execPath, args, {
    cwd: ROOT,
    env: { ...withoutTap(process.env), ABANDON: mode, SERVICE_PID_FILE: pidFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => killGroup(child))
  let output = ''
  child.stdout!.on('data', (chunk) => { output += String(chunk) })
  child.stderr!.on('data', (chunk) => { output += String(chunk) })
  const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
  let servicePid: number
  try {
    servicePid = Number(readFileSync(pidFile, 'utf8'))
  } catch {
    throw new Error(`the fixture ended (${code ?? signal}) before its service ran; its output:\n${output}`)
  }
  return { code, signal, output, servicePid }
}

t.test('a test that fails: its teardown kills the service', async (t) => {
  // The parent watch waits ten minutes here: only the teardown can have ended the service in time.
  const run = await runAbandoned(t, 'fail', 'node', { TEST_PARENT_WATCH_MS: '600000' })
  t.match(run.output, /not ok 1 - the test failed/, 'the test failed', { output: run.output })
  t.notMatch(run.output, /timeout!/, 'and the test process ended by itself: nothing kept it waiting')
  t.ok(run.servicePid > 0, 'the service had started')
  t.ok(await goneWithin(run.servicePid, GONE_WITHIN_MS), `service ${run.servicePid} is gone`)
})

t.test('a test process that exits without its teardowns: the exit hook kills the service\'s group', async (t) => {
  // The parent watch waits ten minutes here, so that only the exit hook can have ended the service in time.
  const run = await runAbandoned(t, 'exit', 'node', { TEST_PARENT_WATCH_MS: '600000' })
  t.equal(run.code, 1, 'the test process exited at once', { output: run.output })
  t.notMatch(run.output, /the test failed/, 'no test got to fail: the process ended first')
  t.ok(await goneWithin(run.servicePid, GONE_WITHIN_MS), `service ${run.servicePid} is gone`)
})

t.test('a test file that tap times out and kills the hard way: the service ends itself, its parent being gone', async (t) => {
  const outerInfo = join(ROOT, '.tap', 'processinfo')
  mkdirSync(outerInfo, { recursive: true })
  const sentinel = join(outerInfo, `sentinel-${process.pid}.json`)
  writeFileSync(sentinel, '{}')
  t.teardown(() => rmSync(sentinel, { force: true }))
  const run = await runAbandoned(t, 'stuck', 'tap')
  t.ok(existsSync(sentinel), 'the inner tap run left the outer run\'s process info alone')
  t.equal(run.code, 1, 'tap reports the failure', { output: run.output })
  t.match(run.output, /not ok 1 - timeout!/, 'the file timed out', { output: run.output })
  t.ok(await goneWithin(run.servicePid, GONE_WITHIN_MS), `service ${run.servicePid} is gone`)
})
