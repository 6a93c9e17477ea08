import { once } from 'node:events'
import { copyFileSync, symlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t from 'tap'
import { ROOT, freePort, spawnInGroup, testEnv } from '../helper.js'

// `npm start` runs the service compiled (`node dist/main.js`, building it first when it is
// missing or stale), and npm's SIGTERM reaches node itself: the service drains and stops,
// nothing is left running. It runs from a copy of the package's top folder (its files linked),
// so that no `.env` of the checkout is read.

t.test('npm start runs dist/main.js; a SIGTERM to npm stops the service gracefully, nothing left behind', async (t) => {
  const dir = t.testdir()
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'))
  for (const name of ['node_modules', 'src', 'dist', 'scripts', 'tsconfig.json', 'tsconfig.build.json']) symlinkSync(join(ROOT, name), join(dir, name))
  const port = await freePort()
  const npm = spawnInGroup('npm', ['start', '--silent'], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...testEnv({ LOG_LEVEL: 'info', PORT: String(port), DATABASE_URL: `sqlite:${dir}/bridge.db` }) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: Array<{ msg?: string; pid?: number }> = []
  const listening = new Promise<void>((resolve) => {
    createInterface({ input: npm.stdout! }).on('line', (text) => {
      try {
        lines.push(JSON.parse(text) as { msg?: string; pid?: number })
      } catch {
        return
      }
      if (lines.at(-1)!.msg === 'listening') resolve()
    })
  })
  const exited = once(npm, 'exit')
  // Whatever happens, nothing of its process group outlives the test (a service orphaned by a broken start script included).
  t.teardown(() => { try { process.kill(-npm.pid!, 'SIGKILL') } catch {} })
  await listening
  const servicePid = lines.find((l) => l.msg === 'listening')!.pid!
  t.not(servicePid, npm.pid, 'the service is a process of its own, under npm')
  t.match(await readCommand(servicePid), /node dist\/main\.js/, 'compiled, not through tsx')

  process.kill(npm.pid!, 'SIGTERM') // npm only, as a process manager would signal it
  const [code] = await exited as [number | null]
  t.ok(lines.some((l) => l.msg === 'SIGTERM: shutting down'), 'the service itself got the SIGTERM')
  t.ok(lines.some((l) => l.msg === 'stopped'), 'and stopped gracefully')
  t.equal(code, 0, 'npm exits 0 with it')
  t.notOk(await answers(port), 'nothing listens on its port any more')
})

async function readCommand (pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ')
}

/** Whether something accepts a connection on the port. */
async function answers (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}
