import t from 'tap'
import { outcomeOfStatus } from '../../src/gatewayapi/status-vocabulary.js'

t.test('each final status of GatewayAPI ends its message with its own outcome', async (t) => {
  t.same(
    Object.fromEntries(['DELIVERED', 'ACCEPTED', 'EXPIRED', 'UNDELIVERABLE', 'REJECTED', 'DELETED', 'SKIPPED'].map((s) => [s, outcomeOfStatus(s)])),
    { DELIVERED: 'delivered', ACCEPTED: 'accepted-by-network', EXPIRED: 'expired', UNDELIVERABLE: 'undeliverable', REJECTED: 'rejected', DELETED: 'deleted', SKIPPED: 'skipped' }
  )
})

t.test('the other statuses, and any not known yet, end nothing', async (t) => {
  for (const status of ['ENROUTE', 'UNKNOWN', 'RCS READ', 'BUFFERED', 'SCHEDULED', 'DELIVERED_LATER', '', 'constructor', '__proto__', 'toString']) {
    t.equal(outcomeOfStatus(status), undefined, status)
  }
})

t.test('a status is read whatever its case, blanks around it ignored', async (t) => {
  t.equal(outcomeOfStatus('delivered'), 'delivered')
  t.equal(outcomeOfStatus(' Undeliverable\n'), 'undeliverable')
})
