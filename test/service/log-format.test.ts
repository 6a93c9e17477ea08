import t, { type Test } from 'tap'
import { buildAdminApp, buildApp } from '../../src/app.js'
import { createMetrics } from '../../src/metrics.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import { createLogger, logDestination } from '../../src/logger.js'
import { ConfigError, parseConfig } from '../../src/config.js'
import { logCapture, testConfig, testEnv } from '../helper.js'

// Logs for humans too: ISO times, the probes' request lines only at debug, a pretty format for a terminal.

t.test('every line carries its time as ISO-8601 (UTC)', async (t) => {
  const capture = logCapture()
  createLogger('info', capture.stream).info('hello')
  const line = JSON.parse(capture.lines()[0]!) as { time: string }
  t.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60_000, 'the time of writing')
})

/** The request lines an app logs at `level` for one request to each path. */
async function requestLines (t: Test, level: 'info' | 'debug', paths: string[]): Promise<string[]> {
  const capture = logCapture()
  const store = openSqliteStore({ path: `${t.testdir()}/${level}.db` })
  const logger = createLogger(level, capture.stream)
  const metrics = createMetrics()
  const app = buildApp(testConfig(), { store, logger, metrics })
  const admin = buildAdminApp(testConfig(), { store, logger, metrics })
  t.teardown(async () => { await app.close(); await admin.close(); await store.close() })
  // Each path where it is served: /ready and /metrics on the admin listener, /health on both.
  for (const url of paths) {
    const on = url === '/ready' || url === '/metrics' ? admin : app
    t.equal((await on.inject({ method: 'GET', url })).statusCode < 500, true, url)
  }
  return capture.lines().map((l) => JSON.parse(l) as { msg: string; req?: { url: string }; reqId?: string })
    .filter((l) => l.msg === 'incoming request').map((l) => l.req!.url)
}

t.test('probes (/health, /ready, /metrics) log their requests at debug only; other requests at info', async (t) => {
  const paths = ['/health', '/ready', '/metrics', '/no-such-path']
  t.same(await requestLines(t, 'info', paths), ['/no-such-path'], 'at info: only the request that is not a probe')
  t.same(await requestLines(t, 'debug', paths), paths, 'at debug: all of them')
})

t.test('LOG_FORMAT=pretty writes lines for a terminal; json is the default; anything else is refused', async (t) => {
  t.equal(parseConfig(testEnv()).logFormat, 'json')
  t.equal(await logDestination('json'), undefined, 'json: pino\'s own stdout')
  const capture = logCapture()
  const logger = createLogger('info', await logDestination('pretty', capture.stream))
  logger.info({ registration: 'tenant-a' }, 'campaign accepted')
  const text = capture.text()
  t.match(text, /INFO.*campaign accepted/, 'level and message on one line')
  t.match(text, /registration: "tenant-a"/, 'fields below it')
  t.throws(() => JSON.parse(text), 'not JSON')
  t.throws(() => parseConfig(testEnv({ LOG_FORMAT: 'yaml' })), new ConfigError('Invalid configuration: LOG_FORMAT must be json or pretty'))
})
