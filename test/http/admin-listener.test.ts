import t, { type Test } from 'tap'
import { request } from 'undici'
import { buildApp } from '../../src/app.js'
import { ConfigError, parseConfig, CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import { createLogger } from '../../src/logger.js'
import { logCapture, startStack, testConfig, testEnv } from '../helper.js'

// Two listeners: the public one serves the webhooks and a bare /health; operators' endpoints
// (/metrics, /ready, /health with details) are on the admin listener, by default on loopback.

async function get (url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await request(url)
  return { status: res.statusCode, type: String(res.headers['content-type']), body: await res.body.text() }
}

t.test('the public listener serves the webhooks and a bare /health; the admin listener /metrics, /ready and /health with details', async (t) => {
  const { service } = await startStack(t)
  t.not(service.adminUrl, service.url, 'two listeners')

  for (const path of ['/metrics', '/ready']) {
    const publicAnswer = await get(`${service.url}${path}`)
    t.equal(publicAnswer.status, 404, `${path} is not on the public port`)
    t.match(JSON.parse(publicAnswer.body), { code: 'NOT_FOUND' })
  }
  t.same(JSON.parse((await get(`${service.url}/health`)).body), { status: 'ok' }, 'the public /health says nothing more')
  t.equal((await request(`${service.url}${CAMPAIGN_SEND_PATH}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).statusCode, 401, 'the webhooks are public')

  const metrics = await get(`${service.adminUrl}/metrics`)
  t.equal(metrics.status, 200)
  t.match(metrics.type, /^text\/plain/)
  t.match(metrics.body, /^bridge_messages\{state="queued"\} \d+$/m)
  t.match(JSON.parse((await get(`${service.adminUrl}/ready`)).body), { ready: true, store: 'ok' })
  t.match(JSON.parse((await get(`${service.adminUrl}/health`)).body), { status: 'ok', sending: 'ok', optimove: [] })
  t.equal((await request(`${service.adminUrl}${CAMPAIGN_SEND_PATH}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).statusCode, 404, 'no webhook on the admin listener')
})

t.test('ADMIN_HOST is loopback and ADMIN_PORT 3001 by default; the same port as PORT is refused', async (t) => {
  const config = parseConfig(testEnv({ ADMIN_HOST: undefined, ADMIN_PORT: undefined }))
  t.same(config.admin, { host: '127.0.0.1', port: 3001 })
  t.same(parseConfig(testEnv({ ADMIN_HOST: '0.0.0.0', ADMIN_PORT: '9464' })).admin, { host: '0.0.0.0', port: 9464 })
  t.throws(() => parseConfig(testEnv({ PORT: '3000', ADMIN_PORT: '3000' })),
    new ConfigError('Invalid configuration: ADMIN_PORT must differ from PORT (the admin endpoints have a listener of their own)'))
  t.equal(parseConfig(testEnv({ PORT: '0', ADMIN_PORT: '0' })).admin.port, 0, 'both on any free port (tests) is allowed')
})

/** The client address the public app logs for a request from `remoteAddress` with X-Forwarded-For `forwarded`. */
async function loggedClient (t: Test, trustProxy: string | undefined, remoteAddress: string, forwarded: string): Promise<string> {
  const capture = logCapture()
  const store = openSqliteStore({ path: `${t.testdir()}/bridge-${Math.random().toString(36).slice(2)}.db` })
  const app = buildApp(testConfig({ TRUST_PROXY: trustProxy }), { store, logger: createLogger('info', capture.stream) })
  t.teardown(async () => { await app.close(); await store.close() })
  await app.inject({ method: 'GET', url: '/no-such-path', remoteAddress, headers: { 'x-forwarded-for': forwarded } })
  const line = capture.lines().map((l) => JSON.parse(l) as { msg: string; req?: { remoteAddress?: string } }).find((l) => l.msg === 'incoming request')
  return line!.req!.remoteAddress!
}

t.test('TRUST_PROXY: whom X-Forwarded-For is believed from (the client address in the logs)', async (t) => {
  t.equal(await loggedClient(t, undefined, '10.0.0.5', '203.0.113.7'), '10.0.0.5', 'by default nobody: the peer\'s own address')
  t.equal(await loggedClient(t, 'true', '10.0.0.5', '203.0.113.7'), '203.0.113.7', 'true: every proxy')
  t.equal(await loggedClient(t, '1', '10.0.0.5', '198.51.100.1, 203.0.113.7'), '203.0.113.7', '1: one proxy in front of us')
  t.equal(await loggedClient(t, '10.0.0.0/8', '10.0.0.5', '203.0.113.7'), '203.0.113.7', 'a trusted network')
  t.equal(await loggedClient(t, '10.0.0.0/8', '192.0.2.9', '203.0.113.7'), '192.0.2.9', 'a peer outside it is not believed')
  t.throws(() => parseConfig(testEnv({ TRUST_PROXY: 'everyone' })),
    new ConfigError('Invalid configuration: TRUST_PROXY must be true, false, a number of proxies, or addresses and networks separated by commas'))
})
