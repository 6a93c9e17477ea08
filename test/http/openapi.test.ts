import t from 'tap'
import { readFileSync } from 'node:fs'
import ajv2020 from 'ajv/dist/2020.js'
import { request } from 'undici'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { errorBodySchema } from '../../src/errors.js'
import { campaignAnswerSchema, validationProblemSchema } from '../../src/optimove/campaign-schema.js'
import { GATEWAYAPI_EVENTS_PATH } from '../../src/gatewayapi/events-route.js'
import { eventAnswerSchema } from '../../src/gatewayapi/webhook-schema.js'
import { signGatewaySignature } from '../../src/lib/hmac-signature.js'
import { gatewayEnvelope } from '../../src/sim/gatewayapi-events.js'
import { sendWebhook } from '../../src/sim/gatewayapi-wire.js'
import { campaignBody, startStack } from '../helper.js'

// The webhooks' contract as OpenAPI, served on the admin listener, generated from the schemas
// the routes read with; and the routes' real answers are what it documents.

t.test('/docs/openapi.json on the admin listener: both webhooks, their headers, bodies and answers; the real answers match it', async (t) => {
  const { service, config, optimove } = await startStack(t)
  t.equal((await request(`${service.url}/docs/openapi.json`)).statusCode, 404, 'not on the public port')
  const res = await request(`${service.adminUrl}/docs/openapi.json`)
  t.equal(res.statusCode, 200)
  const doc = await res.body.json() as any
  t.equal(doc.openapi, '3.1.0')
  t.equal(doc.info.version, JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version, 'this service\'s version')

  const campaign = doc.paths[CAMPAIGN_SEND_PATH].post
  t.same(campaign.parameters.map((p: { name: string; in: string; required: boolean }) => [p.name, p.in, p.required]), [['X-API-Key', 'header', true], ['x-hub-signature', 'header', true]])
  const body = campaign.requestBody.content['application/json'].schema
  t.same(body.properties.recipients.anyOf[0].items.required, ['mobileNumber', 'message'], 'a sendable recipient\'s fields, from the zod schema')
  t.match(body.properties.metadata.description, /byte for byte/)
  t.same(Object.keys(campaign.responses), ['200', '400', '401', '413', '415', '503'])
  t.same(campaign.responses[200].content['application/json'].schema.required, ['message', 'batchId', 'requestId', 'accepted', 'rejected'])

  const events = doc.paths[GATEWAYAPI_EVENTS_PATH].post
  t.same(events.parameters.map((p: { name: string }) => p.name), ['Signature'])
  const event = events.requestBody.content['application/json'].schema.properties.event
  t.same(event.anyOf.map((e: { required?: string[] }) => e.required), [['status'], ['sender']], 'a status event, or a reply')
  t.same(events.responses[200].content['application/json'].schema.properties.status.enum, ['recorded', 'duplicate', 'unknown-message', 'unusable'])

  // The document's own JSON Schemas (compiled by a JSON Schema validator) take what the peers
  // send, and what the routes really answer; so do the zod schemas it was made from.
  const ajv = new ajv2020.default({ strict: false })
  const schemaAt = (operation: any, status?: number) => status === undefined
    ? operation.requestBody.content['application/json'].schema
    : operation.responses[status].content['application/json'].schema
  const fits = (schema: unknown, value: unknown): boolean => ajv.validate(schema as object, value)
  const sent = campaignBody({ recipients: 3 })
  t.ok(fits(schemaAt(campaign), sent), 'a campaign as Optimove sends it fits the documented body')
  const url = `${service.url}${CAMPAIGN_SEND_PATH}`
  const answers: Array<[number, unknown, { safeParse: (v: unknown) => { success: boolean } }]> = [
    [200, (await optimove.sendCampaign(sent, { url })).body, campaignAnswerSchema],
    [200, (await optimove.sendCampaign(sent, { url })).body, campaignAnswerSchema],
    [400, (await optimove.sendCampaign({ ...sent, recipients: 'x' }, { url })).body, validationProblemSchema],
    [401, (await optimove.sendCampaign(sent, { url, apiKey: 'wrong' })).body, errorBodySchema]
  ]
  t.match(answers[1]![1], { duplicate: true }, 'the second is a duplicate')
  for (const [status, body, schema] of answers) {
    t.ok(fits(schemaAt(campaign, status), body), `campaign ${status} fits the document: ${JSON.stringify(body)}`)
    t.ok(schema.safeParse(body).success, `and its zod schema`)
  }
  const raw = JSON.stringify(gatewayEnvelope('message.status.sms', { reference: 'nobody', status: 'DELIVERED' }))
  t.ok(fits(schemaAt(events), JSON.parse(raw)), 'a status event as GatewayAPI sends it fits the documented body')
  const answer = await sendWebhook(`${service.url}${GATEWAYAPI_EVENTS_PATH}`, raw, signGatewaySignature(raw, config.gatewayapi.webhookSecret))
  t.same(answer, { status: 200, body: { status: 'unknown-message' } })
  t.ok(fits(schemaAt(events, 200), answer.body) && eventAnswerSchema.safeParse(answer.body).success, 'event 200 fits the document')
  const refused = await sendWebhook(`${service.url}${GATEWAYAPI_EVENTS_PATH}`, raw, 'v1=00')
  t.equal(refused.status, 401)
  t.ok(fits(schemaAt(events, 401), refused.body) && errorBodySchema.safeParse(refused.body).success, 'event 401 fits the document')
  t.notOk(fits(schemaAt(events, 200), { status: 'maybe' }), 'and the document is not a blank check')
})
