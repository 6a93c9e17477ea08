import t, { type Test } from 'tap'
import { once } from 'node:events'
import { Dispatcher } from '../../src/core/dispatcher.js'
import type { MessageSender, OutgoingMessage, SendOutcome } from '../../src/core/message-sender.js'
import type { Store } from '../../src/core/store/store.js'
import { systemClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/logger.js'
import { ADAPTERS } from './store/adapters.js'
import { until } from '../helper.js'

// The dispatcher's loop against every store adapter (the in-memory fake among them), with a
// provider whose answers the test gives by hand: wake-ups, the timer to the next due message,
// stop with requests in flight, and a slow request that holds up no other.

/** A provider that answers each request when the test says. */
function handProvider () {
  const waiting = new Map<string, (outcome: SendOutcome) => void>()
  const arrivals: string[][] = []
  const listeners: Array<() => void> = []
  const sender: MessageSender = {
    send: (messages: OutgoingMessage[]) => new Promise<SendOutcome>((resolve) => {
      arrivals.push(messages.map((m) => m.reference))
      waiting.set(messages[0]!.reference, resolve)
      for (const listener of listeners.splice(0)) listener()
    }),
    close: async () => undefined
  }
  return {
    sender,
    arrivals,
    /** Resolves once `n` requests have arrived in all. */
    async arrived (n: number): Promise<string[][]> {
      while (arrivals.length < n) await new Promise<void>((resolve) => listeners.push(resolve))
      return arrivals.slice(0, n)
    },
    /** Accepts the request that carries `reference` first. */
    accept (request: string[]): void {
      const resolve = waiting.get(request[0]!)!
      waiting.delete(request[0]!)
      resolve({ kind: 'sent', providerIds: new Map(request.map((reference) => [reference, `gw-${reference}`])) })
    }
  }
}

let keys = 0
async function accept (store: Store, n: number, scheduledAt = Date.now()): Promise<void> {
  const key = `k${++keys}`
  await store.acceptCampaign(
    { registrationId: 'r', idempotencyKey: key, batchId: key, requestId: key, senderId: 'Brand', metadataJson: '{}', scheduledAt, receivedAt: Date.now() },
    Array.from({ length: n }, (_, i) => ({ mobileNumber: String(4520000000 + i), customerId: `c${i}`, text: `${key} ${i}` })))
}

for (const [adapter, open] of ADAPTERS) {
  const setup = async (t: Test, options: { concurrency: number; batchSize: number }) => {
    const store = await open(t.testdir())
    t.teardown(() => store.close())
    const provider = handProvider()
    const dispatcher = new Dispatcher({
      store,
      sender: provider.sender,
      clock: systemClock,
      logger: createLogger('silent'),
      leaseMs: 60_000,
      maxAttempts: 5,
      maxAgeMs: 3_600_000,
      backoff: { baseMs: 5, capMs: 50 },
      defaultRetryAfterMs: 1000,
      // Long: whatever is sent was woken or timed, never found by the idle poll.
      idlePollMs: 600_000,
      ...options
    })
    t.teardown(() => dispatcher.stop())
    return { store, provider, dispatcher }
  }
  const submitted = async (store: Store): Promise<number> => (await store.stats()).messages.submitted

  t.test(`${adapter}: wake() sends what was stored after the dispatcher went idle`, async (t) => {
    const { store, provider, dispatcher } = await setup(t, { concurrency: 2, batchSize: 10 })
    dispatcher.start()
    await accept(store, 3)
    dispatcher.wake()
    const [request] = await provider.arrived(1)
    t.equal(request!.length, 3, 'one request with the three messages')
    provider.accept(request!)
    await once(dispatcher, 'settled')
    t.equal(await submitted(store), 3)
  })

  t.test(`${adapter}: a message scheduled ahead is sent when its time comes, with no wake-up`, async (t) => {
    const { store, provider, dispatcher } = await setup(t, { concurrency: 2, batchSize: 10 })
    const at = Date.now() + 150
    await accept(store, 1, at)
    dispatcher.start()
    const [request] = await provider.arrived(1)
    t.ok(Date.now() >= at, 'not before its time')
    provider.accept(request!)
    await once(dispatcher, 'settled')
    t.equal(await submitted(store), 1)
  })

  t.test(`${adapter}: a slow request holds up no other, and stop() waits for it`, async (t) => {
    const { store, provider, dispatcher } = await setup(t, { concurrency: 2, batchSize: 1 })
    await accept(store, 4)
    dispatcher.start()
    const [slow, second] = await provider.arrived(2)
    t.equal(dispatcher.state().inFlight, 2, 'no more requests in flight than the concurrency')
    provider.accept(second!)
    const [third] = (await provider.arrived(3)).slice(2)
    provider.accept(third!)
    const [fourth] = (await provider.arrived(4)).slice(3)
    provider.accept(fourth!)
    await until(dispatcher, 'settled', async () => await submitted(store) >= 3)
    t.equal((await store.stats()).messages.sending, 1, 'three sent while the slow one is in flight')

    let stopped = false
    const stopping = dispatcher.stop().then(() => { stopped = true })
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(stopped, false, 'stop() waits for the request in flight')
    provider.accept(slow!)
    await stopping
    t.equal(await submitted(store), 4, 'and settles it')
    t.equal(provider.arrivals.length, 4, 'nothing is sent after stop()')
  })
}
