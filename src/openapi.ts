import { z } from 'zod'
import { CAMPAIGN_SEND_PATH } from './config.js'
import { errorBodySchema } from './errors.js'
import { campaignAnswerSchema, campaignBodyDocument, validationProblemSchema } from './optimove/campaign-schema.js'
import { GATEWAYAPI_EVENTS_PATH } from './gatewayapi/events-route.js'
import { eventAnswerSchema, webhookEnvelopeDocument } from './gatewayapi/webhook-schema.js'

/** A zod schema as OpenAPI 3.1 reads it (JSON Schema 2020-12): what a caller may send, or what we answer. */
function schemaOf (schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  return json
}

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({ content: { 'application/json': { schema: schemaOf(schema, io) } } })
const error = (description: string) => ({ description, ...json(errorBodySchema) })

/**
 * The contract of our two webhooks as an OpenAPI 3.1 document, generated from the zod schemas
 * the routes read bodies with (their input side: what we accept, liberally) and answer with, so
 * that Optimove's and GatewayAPI's integrators and our operators read one contract.
 */
export function openApiDocument (version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Optimove ⇄ GatewayAPI SMS bridge: webhooks',
      version,
      description: 'The two webhooks of the bridge: campaigns from Optimove, status events and replies from GatewayAPI. Both take bodies liberally (unknown fields are ignored) and answer with JSON.'
    },
    paths: {
      [CAMPAIGN_SEND_PATH]: {
        post: {
          operationId: 'sendCampaign',
          summary: 'A campaign from Optimove: stored durably and idempotently before the answer, then sent to GatewayAPI',
          parameters: [
            { name: 'X-API-Key', in: 'header', required: true, description: 'The aggregator API key of the registration (AGGREGATOR_API_KEY)', schema: { type: 'string' } },
            { name: 'x-hub-signature', in: 'header', required: true, description: 'sha256=<hex HMAC-SHA256 of the raw body, with the registration\'s shared secret>', schema: { type: 'string' } }
          ],
          requestBody: { required: true, ...json(campaignBodyDocument, 'input') },
          responses: {
            200: { description: 'Taken: stored before this answer (a repeat is answered with duplicate: true)', ...json(campaignAnswerSchema) },
            400: { description: 'Not a JSON object, or recipients not an array (Optimove\'s problem-details shape); or no body', content: { 'application/json': { schema: { oneOf: [schemaOf(validationProblemSchema, 'output'), schemaOf(errorBodySchema, 'output')] } } } },
            401: error('Unknown X-API-Key, or a signature that does not match'),
            413: error('A body larger than CAMPAIGN_BODY_LIMIT_BYTES'),
            415: error('A body that is not application/json'),
            503: error('The store could not take it now: retry later')
          }
        }
      },
      [GATEWAYAPI_EVENTS_PATH]: {
        post: {
          operationId: 'gatewayApiEvent',
          summary: 'A status event or a customer reply from GatewayAPI: recorded once, then reported to Optimove',
          parameters: [
            { name: 'Signature', in: 'header', required: true, description: 'v1=<hex HMAC-SHA256 of the raw body, with GATEWAYAPI_WEBHOOK_SECRET>; several v1= values, comma-separated, while a secret is rotated', schema: { type: 'string' } }
          ],
          requestBody: { required: true, ...json(webhookEnvelopeDocument, 'input') },
          responses: {
            200: { description: 'Taken (also a replay, an event for a message we do not know, and an event we cannot use, kept whole)', ...json(eventAnswerSchema) },
            400: error('No body, a body that is not JSON, or an event outside the accepted time window'),
            401: error('A Signature header missing, malformed or not matching'),
            413: error('A body larger than WEBHOOK_BODY_LIMIT_BYTES'),
            415: error('A body that is not application/json'),
            503: error('The store could not take it now: GatewayAPI retries')
          }
        }
      }
    }
  }
}
