import t from 'tap'
import { campaignBody, logCapture, startStack } from '../helper.js'

t.test('a sender GatewayAPI takes at a risk of replacement is sent as given, with a warning logged', async (t) => {
  const logs = logCapture()
  const { gateway, sendCampaign } = await startStack(t, {}, { logStream: logs.stream })
  t.match((await sendCampaign({ ...campaignBody({ recipients: 2 }), senderId: 'Shop & Co' })).body, { accepted: 2, rejected: 0 })
  await gateway.waitForAccepted(2)
  t.same(gateway.accepted.map((m) => m.sender), ['Shop & Co', 'Shop & Co'], 'GatewayAPI got the sender unchanged')
  const warning = logs.lines().map((l) => JSON.parse(l)).find((l) => l.msg === 'campaign tolerated with a warning')
  t.match(warning, { level: 40, registration: 'default', batchId: 'batch-1', warning: /"Shop & Co" has characters other than A-Z/ })

  t.match((await sendCampaign({ ...campaignBody({ recipients: 1, batchId: 'batch-2' }), senderId: '+4512345678' })).body, { accepted: 1 })
  await gateway.waitForAccepted(3)
  t.equal(gateway.accepted[2]!.sender, '4512345678', 'a numeric sender goes without its +')
})
