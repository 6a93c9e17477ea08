import t from 'tap'
import { writeFileSync } from 'node:fs'
import { parseConfig } from '../../src/config.js'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { openSqliteStore } from '../../src/core/store/sqlite-store.js'
import type { Store } from '../../src/core/store/store.js'
import { signGatewaySignature } from '../../src/lib/hmac-signature.js'
import { gatewayEnvelope } from '../../src/sim/gatewayapi-events.js'
import { sendWebhook } from '../../src/sim/gatewayapi-wire.js'
import { listenTestApp, testEnv } from '../helper.js'

/** Two registrations, and a store whose lookups and writes can be made to fail. */
async function twoRegistrations (t: Parameters<typeof listenTestApp>[0]) {
  const dir = t.testdir()
  writeFileSync(`${dir}/registrations.json`, JSON.stringify(['a', 'b'].map((name) => ({
    name, optimoveBaseUrl: 'http://127.0.0.1:1', appApiKey: `app-${name}`, sharedSecret: `secret-${name}`, aggregatorApiKey: `key-${name}`, senderId: `Brand${name.toUpperCase()}`
  }))))
  const config = parseConfig(testEnv({
    OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined,
    REGISTRATIONS_FILE: `${dir}/registrations.json`
  }))
  const dbPath = `${dir}/bridge.db`
  const real = openSqliteStore({ path: dbPath, recipientIndex: true })
  const faults = { lookup: false, write: false }
  const store: Store = {
    ...real,
    registrationsOfRecipient: (msisdn) => faults.lookup ? Promise.reject(new Error('SQLITE_BUSY: database is locked')) : real.registrationsOfRecipient(msisdn),
    recordWebhookEvent: (event) => faults.write ? Promise.reject(new Error('SQLITE_IOERR')) : real.recordWebhookEvent(event)
  }
  const listening = await listenTestApp(t, { config, store, dbPath })
  const post = (envelope: unknown) => {
    const raw = JSON.stringify(envelope)
    return sendWebhook(`${listening.url}${GATEWAYAPI_EVENTS_PATH}`, raw, signGatewaySignature(raw, config.gatewayapi.webhookSecret))
  }
  /** The replies queued for Optimove, as the store holds them. */
  const incoming = async () => (await real.inspect()).incoming.map(({ registrationId, from, to, text }) => ({ registrationId, from, to, text }))
  return { ...listening, faults, post, incoming }
}

const reply = (id: string) => gatewayEnvelope('user-message.text.sms', { sender: 4512345678, content: { message: 'STOP' } }, { eventId: id })

t.test('a store error while routing a reply is a 503 (GatewayAPI retries), never a guess', async (t) => {
  const { faults, post, incoming } = await twoRegistrations(t)
  faults.lookup = true
  const refused = await post(reply('r-1'))
  t.same(refused, { status: 503, body: { message: 'the reply could not be routed; retry later', code: 'SERVICE_UNAVAILABLE' } })
  t.same(await incoming(), [], 'nothing queued, not even for the first registration')

  faults.lookup = false
  t.same((await post(reply('r-1'))).body, { status: 'recorded' }, 'GatewayAPI\'s retry is taken once the store answers')
  t.same(await incoming(), [{ registrationId: 'a', from: '4512345678', to: 'BrandA', text: 'STOP' }], 'nobody texted the number: the first registration')
})

t.test('a reply whose number texted is known needs no lookup: a store that cannot look up does not stop it', async (t) => {
  const { faults, post, incoming } = await twoRegistrations(t)
  faults.lookup = true
  const envelope = gatewayEnvelope('user-message.text.sms', { sender: 4512345678, recipient: 'BrandB', content: { message: 'hi' } })
  t.same((await post(envelope)).body, { status: 'recorded' })
  t.same(await incoming(), [{ registrationId: 'b', from: '4512345678', to: 'BrandB', text: 'hi' }])
})

t.test('a store error while recording is a 503, for replies, statuses and unusable events alike', async (t) => {
  const { faults, post, admin } = await twoRegistrations(t)
  faults.write = true
  for (const envelope of [reply('w-1'), gatewayEnvelope('message.status.sms', { reference: 'x', status: 'DELIVERED' }), gatewayEnvelope('account.balance.low', {})]) {
    t.same((await post(envelope)).status, 503, String(envelope.event_type))
  }
  const metrics = (await admin.inject({ method: 'GET', url: '/metrics' })).body
  t.notMatch(metrics, /outcome="(recorded|unusable)"/, 'nothing counted as taken')
})
