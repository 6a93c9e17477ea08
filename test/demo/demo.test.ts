import { existsSync, writeFileSync } from 'node:fs'
import t from 'tap'
import { ROOT, spawnInGroup } from '../helper.js'

/** Runs `npm run demo`'s entry as a new user would, without a terminal, and collects its output. */
async function runDemo (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // In a process group of its own, killed with the test process if it is cut short.
  const child = spawnInGroup(process.execPath, ['--import', 'tsx', 'src/demo/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => { stdout += String(chunk) })
  child.stderr!.on('data', (chunk) => { stderr += String(chunk) })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  return { code, stdout, stderr }
}

t.test('the demo runs the whole loop for 200 recipients and prints the summary', async (t) => {
  const dir = t.testdir()
  const db = `${dir}/demo.db`
  const log = `${dir}/service.log`
  const { code, stdout, stderr } = await runDemo(['--recipients', '200', '--db', db, '--log', log])
  t.equal(code, 0, `exit code 0; stderr: ${stderr}`)
  t.equal(stderr, '', 'nothing on stderr')
  t.notMatch(stdout, /\x1b\[|\r/, 'no terminal control characters without a TTY')
  t.match(stdout, /^\[\s*\d+\.\ds\] accepted [\d,]+ \| sent [\d,]+ \| final [\d,]+ \| reported [\d,]+\/200 \| reply \w+$/m, 'plain progress lines')
  // 0.5% unusable (at least one), 2% expired, 1% rejected, the rest delivered.
  t.match(stdout, /^ {2}Delivered {3,}Delivered {3,}193 {3,}193$/m)
  t.match(stdout, /^ {2}Undelivered {3,}Expired {3,}4 {3,}4$/m)
  t.match(stdout, /^ {2}Failed {3,}Rejected {3,}2 {3,}2$/m)
  t.match(stdout, /^ {2}Failed {3,}InvalidRecipient {3,}1 {3,}1$/m)
  t.match(stdout, /^ {2}total {3,}200 {3,}200 {3}every message reported exactly once$/m)
  t.match(stdout, /^Reply forwarded to Optimove's incoming-message endpoint: "STOP" from 45\d{8} to DemoShop$/m)
  t.match(stdout, /campaign posted → all reported to Optimove +[\d.]+ (ms|s)$/m)
  t.match(stdout, /^Result: OK$/m)
  t.ok(existsSync(db), 'the database is where --db says')
  t.ok(existsSync(log), 'the service log is where --log says')

  const again = await runDemo(['--recipients', '200', '--db', db, '--log', log])
  t.equal(again.code, 0, 'a second run on the same demo database starts clean')
  t.match(again.stdout, /^ {2}total {3,}200 {3,}200 {3}every message reported exactly once$/m)
})

t.test('a --db file that is not a demo database is never deleted', async (t) => {
  const dir = t.testdir()
  const path = `${dir}/precious.db`
  writeFileSync(path, 'not a database, but someone\'s file')
  const { code, stdout, stderr } = await runDemo(['--db', path, '--log', `${dir}/service.log`])
  t.equal(code, 1)
  t.match(stderr, /^demo failed: refusing to delete .*precious\.db: it is not a readable SQLite database/)
  t.notMatch(stdout, /Delivery reports/)
  t.ok(existsSync(path))
  t.notOk(existsSync(`${dir}/service.log`), 'nothing else was written either')
})

t.test('bad arguments: usage and exit code 2', async (t) => {
  const { code, stderr } = await runDemo(['--recipients', 'many'])
  t.equal(code, 2)
  t.match(stderr, /--recipients must be a whole number/)
  t.match(stderr, /Usage: npm run demo/)
})
