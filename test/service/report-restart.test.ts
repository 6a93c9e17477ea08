import t from 'tap'
import { campaignBody, childStack, inspectStoreAt, until } from '../helper.js'

t.test('Optimove down, our process killed meanwhile: after restart every report arrives exactly once', async (t) => {
  const { optimove, gateway, dbPath, spawn } = await childStack(t, { REPORT_RETRY_BASE_MS: '5', REPORT_RETRY_MAX_MS: '20', REPORT_TIMEOUT_MS: '1000' })
  optimove.script('delivery-report', ...Array.from({ length: 100_000 }, () => ({ status: 500, body: { message: 'Internal error', error: 'maintenance' } })))

  const first = spawn()
  await first.waitForLog((l) => l.msg === 'ready')
  t.equal((await optimove.sendCampaign(campaignBody({ recipients: 50 }))).status, 200)
  await gateway.waitForAccepted(50)
  for (const m of gateway.accepted) t.equal((await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))).status, 200)
  await until(optimove, 'call', () => optimove.received('delivery-report').length >= 100)
  first.child.kill('SIGKILL')
  await first.exited
  t.equal(optimove.received('delivery-report').filter((c) => c.status === 200).length, 0, 'nothing was accepted while Optimove was down')

  optimove.clearScript('delivery-report')
  const second = spawn()
  const accepted = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => (c.body as { messageId: string }).messageId)
  await until(optimove, 'call', () => accepted().length >= 50)
  second.child.kill('SIGTERM')
  t.same(await second.exited, { code: 0, signal: null })
  t.equal(accepted().length, 50)
  t.equal(new Set(accepted()).size, 50, 'each message reported exactly once')
  t.ok((await inspectStoreAt(dbPath)).reports.every((r) => r.state === 'done'))
})
