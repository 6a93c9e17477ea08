import t from 'tap'
import { campaignBody, startStack, until } from '../helper.js'

t.test('numbers go to GatewayAPI as E.164 digits; every delivery report echoes the number exactly as Optimove sent it', async (t) => {
  const { optimove, gateway, service, sendCampaign } = await startStack(t, { DEFAULT_COUNTRY: 'DK' })
  // [mobileNumber as sent, what GatewayAPI receives, or undefined: InvalidRecipient]
  const numbers: Array<[unknown, number | undefined]> = [
    ['+45 20-00-00-01', 4520000001],
    ['20 00 00 02', 4520000002],
    ['0045 2000 0003', 4520000003],
    ['4520000004', 4520000004],
    ['  (+45) 2000.0005 ', 4520000005],
    ['4520000006.0', undefined],
    [4520000007, undefined],
    ['12', undefined]
  ]
  const body = {
    ...campaignBody({ recipients: 0 }),
    recipients: numbers.map(([mobileNumber], i) => ({ message: `Hi ${i}`, mobileNumber, customerId: `c${i}` }))
  }
  t.match((await sendCampaign(body)).body, { accepted: 5, rejected: 3 })
  await gateway.waitForAccepted(5)
  t.same(gateway.accepted.map((m) => m.recipient).sort(), numbers.flatMap(([, msisdn]) => (msisdn === undefined ? [] : [msisdn])))
  for (const m of gateway.accepted) t.equal((await gateway.postWebhook(gateway.statusEvent(m, 'DELIVERED'))).status, 200)

  const reports = () => optimove.received('delivery-report').filter((c) => c.status === 200).map((c) => c.body as Record<string, any>)
  await until(service.reports, 'settled', () => reports().length >= numbers.length)
  const byCustomer = new Map(reports().map((r) => [r.customerId, r]))
  t.equal(byCustomer.size, numbers.length, 'one report per recipient')
  numbers.forEach(([given, msisdn], i) => {
    const report = byCustomer.get(`c${i}`)!
    t.equal(report.mobileNumber, String(given), `echoed as sent: ${JSON.stringify(given)}`)
    t.same(report.type, msisdn === undefined ? { status: 'Failed', subStatus: 'InvalidRecipient' } : { status: 'Delivered', subStatus: 'Delivered' })
  })
})
