/**
 * The store's share of the relay, without HTTP: 100,000 stored messages claimed 1,000 at a time
 * and marked submitted, with `--in-flight` claims (default 8, as SEND_CONCURRENCY) open at once
 * as the dispatcher keeps them, through the store's port on the store DATABASE_URL names (on the
 * event loop's thread: `STORE_THREAD` does not apply). Prints one JSON line: the wall time per
 * message of the claims and of the submissions, and that every message was submitted once.
 * Usage: [DATABASE_URL=postgres://…] npm run bench:store-relay [-- --messages 100000 --in-flight 8]
 */
import { parseArgs } from 'node:util'
import { benchDatabase } from './bench-database.js'
import { openStore } from '../src/core/store/open-store.js'
import type { ClaimedMessage } from '../src/core/store/store.js'

const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' }, 'in-flight': { type: 'string', default: '8' } } })
const total = Number(values.messages)
const inFlight = Number(values['in-flight'])
const perCampaign = 10_000
const perClaim = 1000

const database = benchDatabase('store_relay')
try {
  const store = await openStore(await database.fresh(), { threaded: false })
  for (let c = 0; c * perCampaign < total; c++) {
    const n = Math.min(perCampaign, total - c * perCampaign)
    await store.acceptCampaign(
      { registrationId: 'bench', idempotencyKey: `k${c}`, batchId: `b${c}`, requestId: `r${c}`, senderId: 'Bench', metadataJson: '{}', scheduledAt: 1, receivedAt: 1 },
      Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4520000000 + i), customerId: `c${i}`, text: `Hi customer ${i}, 20% off everything in store and online until Sunday night. Reply STOP to opt out.` })))
  }
  const open: ClaimedMessage[][] = []
  let claimMs = 0
  let submitMs = 0
  let submitted = 0
  let now = 10
  for (;;) {
    const claimStarted = performance.now()
    const claimed = await store.claimDue(now++, perClaim, 600_000)
    claimMs += performance.now() - claimStarted
    if (claimed.length > 0) open.push(claimed)
    if (open.length < inFlight && claimed.length > 0) continue
    const oldest = open.shift()
    if (oldest === undefined) break
    const submitStarted = performance.now()
    await store.markSubmitted(oldest.map((m) => ({ id: m.id, attempt: m.attempts, providerMessageId: `p${m.id}` })), now++)
    submitMs += performance.now() - submitStarted
    submitted += oldest.length
  }
  const stats = await store.stats()
  await store.close()
  console.log(JSON.stringify({
    bench: 'store-relay',
    store: database.store,
    messages: total,
    inFlight,
    claimUsPerMessage: Number((claimMs * 1000 / submitted).toFixed(2)),
    submitUsPerMessage: Number((submitMs * 1000 / submitted).toFixed(2)),
    eachSubmittedOnce: submitted === total && stats.messages.submitted === total
  }))
} finally {
  await database.cleanUp()
}
