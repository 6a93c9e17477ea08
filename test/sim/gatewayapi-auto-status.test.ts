import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { verifyGatewaySignature } from '../../src/lib/hmac-signature.js'
import { SimGatewayApi, type AutoStatusOptions } from '../../src/sim/gatewayapi.js'
import { listenOnLoopback, readBody, sendJson } from '../../src/sim/http-server.js'
import { simGatewayApi } from '../helper.js'

const TOKEN = 'auto-status-token'
const SECRET = 'auto-status-webhook-secret'

interface Received {
  at: number
  signed: boolean
  event: { event_id: string; event: { msg_id: string; recipient: number; status: string; error: unknown } }
}

/** A webhook receiver on loopback: records signed events, answers what `answer` says, holds each request a little. */
async function webhookReceiver (t: Test, answer: (eventId: string, attempt: number) => number = () => 200) {
  const received: Received[] = []
  const attempts = new Map<string, number>()
  let inFlight = 0
  let maxInFlight = 0
  const server = await listenOnLoopback(async (req, res) => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const raw = await readBody(req)
    const event = JSON.parse(raw.toString('utf8')) as Received['event']
    received.push({ at: Date.now(), signed: verifyGatewaySignature(req.headers.signature, raw, SECRET).ok, event })
    const attempt = (attempts.get(event.event_id) ?? 0) + 1
    attempts.set(event.event_id, attempt)
    await sleep(3)
    inFlight--
    sendJson(res, answer(event.event_id, attempt), { status: 'recorded' })
  })
  t.teardown(() => server.close())
  return { url: `${server.url}/events`, received, maxInFlight: () => maxInFlight }
}

async function startSim (t: Test, webhookUrl: string | undefined, autoStatus?: AutoStatusOptions): Promise<SimGatewayApi> {
  const sim = await simGatewayApi(t, { token: TOKEN, ...(webhookUrl === undefined ? {} : { webhook: { url: webhookUrl, secret: SECRET } }), ...(autoStatus === undefined ? {} : { autoStatus }) }).start()
  t.teardown(() => sim.close())
  return sim
}

async function sendMessages (sim: SimGatewayApi, recipients: number[]): Promise<number> {
  const res = await request(`${sim.url}/mobile/multi`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Token ${TOKEN}` },
    body: JSON.stringify({ messages: recipients.map((recipient, i) => ({ sender: 'Brand', recipient, message: `hello ${i}`, reference: `ref-${recipient}` })) })
  })
  await res.body.dump()
  return res.statusCode
}

t.test('after a 202 it posts the picked status events by itself: signed, in order per message, bounded, retried', async (t) => {
  let failedOnce = false
  const webhook = await webhookReceiver(t, (_id, attempt) => {
    // The first event's first attempt is answered 500, as a receiver's hiccup would be.
    if (!failedOnce && attempt === 1) {
      failedOnce = true
      return 500
    }
    return 200
  })
  const sim = await startSim(t, webhook.url, {
    pick: (m) => m.recipient === 4520000003
      ? ['ENROUTE', { status: 'REJECTED', error: { hex_code: '0x1905', details: 'Unsupported sender' } }]
      : m.recipient === 4520000004 ? null : 'DELIVERED',
    delayMs: 30,
    concurrency: 3,
    retryDelayMs: 5
  })
  const recipients = Array.from({ length: 20 }, (_, i) => 4520000000 + i)
  const acceptedAt = Date.now()
  t.equal(await sendMessages(sim, recipients), 202)
  await sim.statusIdle()

  const first = webhook.received[0]!
  t.ok(first.at - acceptedAt >= 25, 'events start after delayMs')
  t.ok(webhook.received.every((r) => r.signed), 'every event carries a valid Signature header')
  t.ok(webhook.maxInFlight() <= 3, `at most 3 requests in flight (saw ${webhook.maxInFlight()})`)
  t.same(sim.autoStatusStats, { pending: 0, posted: 20, retried: 1, failed: 0, maxInFlight: sim.autoStatusStats.maxInFlight })
  t.ok(sim.autoStatusStats.maxInFlight <= 3)
  t.equal(webhook.received.filter((r) => r.event.event_id === first.event.event_id).length, 2, 'the retry is the same event (same id), posted again')

  const byRecipient = new Map<number, Received[]>()
  for (const r of webhook.received) byRecipient.set(r.event.event.recipient, [...(byRecipient.get(r.event.event.recipient) ?? []), r])
  t.notOk(byRecipient.has(4520000004), 'a null pick posts nothing')
  t.same(byRecipient.get(4520000003)!.map((r) => r.event.event.status), ['ENROUTE', 'REJECTED'], 'one message\'s events go in order')
  t.same(byRecipient.get(4520000003)![1]!.event.event.error, { hex_code: '0x1905', details: 'Unsupported sender' })
  for (const [recipient, events] of byRecipient) {
    const accepted = sim.accepted.find((m) => m.recipient === recipient)!
    t.equal(events[0]!.event.event.msg_id, accepted.msg_id)
  }
  t.equal(byRecipient.size, 19)
})

t.test('a webhook that keeps failing: each event is tried maxAttempts times, then given up', async (t) => {
  const webhook = await webhookReceiver(t, () => 503)
  const sim = await startSim(t, webhook.url, { pick: () => 'DELIVERED', maxAttempts: 3, retryDelayMs: 2 })
  const failed: unknown[] = []
  sim.on('status-failed', (e) => failed.push(e))
  await sendMessages(sim, [4520000001, 4520000002])
  await sim.statusIdle()
  t.equal(webhook.received.length, 6)
  t.match(sim.autoStatusStats, { pending: 0, posted: 0, retried: 4, failed: 2 })
  t.equal(failed.length, 2)
})

t.test('off by default: accepted messages cause no webhook call', async (t) => {
  const webhook = await webhookReceiver(t)
  const sim = await startSim(t, webhook.url)
  await sendMessages(sim, [4520000001, 4520000002])
  await sleep(100)
  t.equal(webhook.received.length, 0)
  t.match(sim.autoStatusStats, { pending: 0, posted: 0 })
})

t.test('close() drops events not yet posted and returns promptly', async (t) => {
  const webhook = await webhookReceiver(t)
  const sim = await startSim(t, webhook.url, { pick: () => 'DELIVERED', delayMs: 60_000 })
  await sendMessages(sim, [4520000001])
  t.equal(sim.autoStatusStats.pending, 1)
  const started = Date.now()
  await sim.close()
  t.ok(Date.now() - started < 1000)
  await sim.statusIdle()
  t.equal(webhook.received.length, 0)
})
