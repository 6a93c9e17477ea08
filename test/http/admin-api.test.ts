import t from 'tap'
import { request } from 'undici'
import { ConfigError, parseConfig } from '../../src/config.js'
import { campaignBody, logCapture, startStack, testEnv, until } from '../helper.js'

// The operator's commands on the admin listener, behind ADMIN_TOKEN.

const TOKEN = 'admin-token-for-tests-0123456789'

async function get (url: string, authorization?: string): Promise<{ status: number; body: any }> {
  const res = await request(url, authorization === undefined ? {} : { headers: { authorization } })
  return { status: res.statusCode, body: await res.body.json() }
}

t.test('GET /admin/v1/status answers what npm run ops -- status prints, only with the bearer token, which is never logged', async (t) => {
  const logs = logCapture()
  const { service, sendCampaign } = await startStack(t, { ADMIN_TOKEN: TOKEN }, { logStream: logs.stream })
  await sendCampaign(campaignBody({ recipients: 5 }))
  // Relayed first, so that the figures stand still while they are compared.
  await until(service.dispatcher, 'settled', async () => (await service.store.stats()).messages.submitted === 5)
  const url = `${service.adminUrl}/admin/v1/status`
  const answer = await get(url, `Bearer ${TOKEN}`)
  t.equal(answer.status, 200)
  t.same(answer.body, await service.store.stats(), 'the store\'s own figures')
  t.equal(answer.body.batches, 1)

  for (const authorization of [undefined, 'Bearer wrong-token', TOKEN, `Basic ${TOKEN}`]) {
    const refused = await get(url, authorization)
    t.same(refused, { status: 401, body: { message: 'missing or invalid Authorization: Bearer <ADMIN_TOKEN>', code: 'UNAUTHORIZED' } }, String(authorization).slice(0, 12))
  }
  t.equal((await request(`${service.url}/admin/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404, 'not on the public port')
  t.notOk(logs.text().includes(TOKEN), 'the token is never logged')
})

t.test('without ADMIN_TOKEN the admin API is off and says so; a short token is refused at startup', async (t) => {
  const { service } = await startStack(t)
  t.same(await get(`${service.adminUrl}/admin/v1/status`, 'Bearer anything-at-all-here'), { status: 401, body: { message: 'the admin API is off: set ADMIN_TOKEN to use it', code: 'UNAUTHORIZED' } })
  t.equal((await request(`${service.adminUrl}/metrics`)).statusCode, 200, 'the rest of the admin listener needs no token')
  t.throws(() => parseConfig(testEnv({ ADMIN_TOKEN: 'short' })), new ConfigError('Invalid configuration: ADMIN_TOKEN must be at least 16 characters'))
})
