import t from 'tap'
import { CONTRACT_ADAPTERS } from './adapters.js'

// A store's life against every adapter: it answers while open, and refuses every call once closed.

const batch = { registrationId: 'r', idempotencyKey: 'k', batchId: 'b', requestId: 'q', senderId: 'Brand', metadataJson: '{}', scheduledAt: 1000, receivedAt: 1000 }

for (const [name, open, options] of CONTRACT_ADAPTERS) {
  t.test(`${name}: ping answers while the store is open, and every call is refused once it is closed`, options, async (t) => {
    const store = await open(t.testdir())
    await store.ping()
    await store.close()
    await store.close()
    await t.rejects(store.ping(), 'ping')
    await t.rejects(store.acceptCampaign(batch, []), 'a write')
    await t.rejects(store.markSubmitted([], 1000), 'even one that would change nothing')
    await t.rejects(store.stats(), 'a read')
  })
}
