import { readlinkSync } from 'node:fs'
import { relative } from 'node:path'
import t from 'tap'
import { ROOT, spawnService, testEnv } from './helper.js'

// A checkout may hold a developer's `.env` and `./data` (the README's quick start makes both):
// the tests must never read them.

const inCheckout = (path: string): boolean => !relative(ROOT, path).startsWith('..')

t.test('each test environment names a database of its own, outside the checkout', async (t) => {
  const [a, b] = [testEnv().DATABASE_URL!, testEnv().DATABASE_URL!]
  t.not(a, b, 'a new file for each environment')
  for (const url of [a, b]) t.notOk(inCheckout(url.replace(/^sqlite:/, '')), `${url} is outside the checkout`)
})

t.test('a service a test spawns works in a folder of its own: no .env or ./data of the checkout reaches it', async (t) => {
  const service = spawnService(testEnv({ LOG_LEVEL: 'info' }))
  t.teardown(() => { if (service.child.exitCode === null) service.child.kill('SIGKILL') })
  await service.waitForLog((line) => line.msg === 'listening')
  const cwd = readlinkSync(`/proc/${service.child.pid}/cwd`)
  t.notOk(inCheckout(cwd), `its working folder ${cwd} is outside the checkout`)
  service.child.kill('SIGTERM')
  t.same(await service.exited, { code: 0, signal: null }, 'and it stops cleanly')
})
