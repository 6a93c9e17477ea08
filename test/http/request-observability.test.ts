import t, { type Test } from 'tap'
import { buildAdminApp, buildApp } from '../../src/app.js'
import { createMetrics } from '../../src/metrics.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import { createLogger } from '../../src/logger.js'
import { request } from 'undici'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { campaignBody, campaignHeaders, inspectStoreAt, logCapture, startStack, testConfig } from '../helper.js'

// What an operator follows a request by: its X-Request-Id in the answer and the logs, its
// duration per route in /metrics, beside the process's own metrics.

async function appFor (t: Test) {
  const capture = logCapture()
  const store = openSqliteStore({ path: `${t.testdir()}/bridge.db` })
  const logger = createLogger('info', capture.stream)
  const metrics = createMetrics()
  const app = buildApp(testConfig(), { store, logger, metrics })
  const admin = buildAdminApp(testConfig(), { store, logger, metrics })
  t.teardown(async () => { await app.close(); await admin.close(); await store.close() })
  return { app, admin, capture }
}

t.test('a usable X-Request-Id comes back and names the request in the logs; another gets a new id', async (t) => {
  const { app: server, capture } = await appFor(t)
  const given = await server.inject({ method: 'GET', url: '/no-such-path', headers: { 'x-request-id': 'lb-7f3a:12' } })
  t.equal(given.headers['x-request-id'], 'lb-7f3a:12', 'the caller\'s id comes back')
  const logged = capture.lines().map((l) => JSON.parse(l) as { reqId?: string; msg: string })
  t.ok(logged.some((l) => l.reqId === 'lb-7f3a:12' && l.msg === 'incoming request'), 'and is the reqId of its log lines')
  for (const bad of ['x'.repeat(129), 'has spaces', 'quote"d']) {
    const answer = await server.inject({ method: 'GET', url: '/no-such-path', headers: { 'x-request-id': bad } })
    t.match(answer.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${bad.slice(0, 12)}…: replaced by a new UUID`)
    t.notOk(capture.text().includes(bad), 'never logged')
  }
  const none = await server.inject({ method: 'GET', url: '/health' })
  t.match(none.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'none given: a new UUID')
})

t.test('/metrics has each route\'s request durations, on both listeners, and the process\'s own metrics', async (t) => {
  const { app: server, admin } = await appFor(t)
  await server.inject({ method: 'GET', url: '/health' })
  await server.inject({ method: 'POST', url: '/api/v1/campaigns/send', payload: {} })
  await server.inject({ method: 'GET', url: '/no-such-path' })
  await admin.inject({ method: 'GET', url: '/ready' })
  const text = (await admin.inject({ method: 'GET', url: '/metrics' })).body
  t.match(text, /bridge_http_request_duration_seconds_count\{method="GET",route="\/ready",status_code="200"\} 1/)
  t.match(text, /bridge_http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\} 1/)
  t.match(text, /bridge_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/campaigns\/send",status_code="401"\} 1/)
  t.match(text, /bridge_http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/)
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.match(text, new RegExp(`^${name} `, 'm'), name)
  }
})

t.test('a campaign\'s X-Request-Id names the log lines of its sending too', async (t) => {
  const capture = logCapture()
  const { gateway, service, config } = await startStack(t, {}, { logStream: capture.stream })
  gateway.script({ status: 500, body: { message: 'temporarily broken' } })
  const raw = JSON.stringify(campaignBody({ recipients: 2 }))
  const res = await request(`${service.url}${CAMPAIGN_SEND_PATH}`, { method: 'POST', headers: { ...campaignHeaders(raw, config), 'x-request-id': 'optimove-trace-42' }, body: raw })
  t.equal(res.statusCode, 200)
  await res.body.dump()
  await gateway.waitForAccepted(2)
  const lines = capture.lines().map((l) => JSON.parse(l) as { component?: string; requestIds?: string[]; msg: string })
  t.match(lines.filter((l) => l.component === 'dispatcher' && l.msg.startsWith('provider request failed')), [{ requestIds: ['optimove-trace-42'] }], 'the failed request to GatewayAPI names the campaign\'s request')
  t.same((await inspectStoreAt(config.databaseUrl)).batches.map((b) => b.traceId), ['optimove-trace-42'], 'kept with its batch')
})
