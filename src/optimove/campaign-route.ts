import type { FastifyInstance } from 'fastify'
import type { Registration } from '../config.js'
import { CAMPAIGN_SEND_PATH } from '../config.js'
import type { Clock } from '../lib/clock.js'
import { verifyHubSignature } from '../lib/hmac-signature.js'
import type { IntakeStore } from '../core/store/store.js'
import type { ProviderRules } from '../core/provider-rules.js'
import { sendError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import { acceptRawJson } from '../http/raw-json-body.js'
import { signedJsonBody } from '../http/signed-json-body.js'
import { campaignRequestSchema, campaignValidationProblem, validationProblem } from './campaign-schema.js'
import { toBatch } from './campaign-intake.js'
import { metadataTextOf } from './campaign-metadata.js'
import { findRegistrationByApiKey } from './registration-lookup.js'

export interface CampaignRouteOptions {
  registrations: readonly Registration[]
  store: IntakeStore
  clock: Clock
  bodyLimit: number
  /** Largest `metadata` value in bytes (it is copied into every delivery report). */
  metadataLimit: number
  metrics: Metrics
  /** What the provider takes (senders, recipients, texts): what it would refuse fails at intake. */
  rules: ProviderRules
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The registration whose `X-API-Key` a campaign request carries (set before its body is read). */
    campaignRegistration: Registration | null
  }
}

/**
 * Optimove's campaign transmission webhook (spec section 2): key, signature over the
 * raw bytes, schema (liberal: only a non-object body or a non-array `recipients` is refused;
 * a bad recipient fails alone), metadata taken verbatim (and bounded), then one durable
 * transaction before the 200.
 * Registered as an encapsulated plugin so that its raw-body JSON parser and its error
 * handler (413 naming its own limit, 415 for anything but JSON) stay local.
 */
export async function campaignRoute (app: FastifyInstance, options: CampaignRouteOptions): Promise<void> {
  const { registrations, store, clock, bodyLimit, metadataLimit, metrics, rules } = options
  const refuse = (reason: string): void => { metrics.campaignRefusals.inc({ reason }) }

  // The signature covers the exact bytes, so JSON is parsed only after it is verified.
  acceptRawJson(app, { bodyLimit, onPayloadTooLarge: () => refuse('too-large') })
  app.decorateRequest('campaignRegistration', null)

  app.post(CAMPAIGN_SEND_PATH, {
    bodyLimit,
    // The key is checked before the body is read, so an unknown caller cannot make us buffer 32 MiB.
    onRequest: async (request, reply) => {
      const registration = findRegistrationByApiKey(registrations, request.headers['x-api-key'])
      if (registration === undefined) {
        refuse('unauthorized')
        return sendError(reply, 'unauthorized', 'missing or invalid X-API-Key')
      }
      request.campaignRegistration = registration
    }
  }, async (request, reply) => {
    const registration = request.campaignRegistration!
    const body = signedJsonBody(request.body, (raw) => verifyHubSignature(request.headers['x-hub-signature'], raw, registration.sharedSecret))
    if (!body.ok) {
      if (body.problem === 'no-body') return sendError(reply, 'badRequest', 'a JSON body is required')
      if (body.problem === 'signature') {
        refuse('signature')
        request.log.warn({ reason: body.reason, registration: registration.id }, 'campaign signature refused')
        return sendError(reply, 'unauthorized', `x-hub-signature refused: ${body.reason}`)
      }
      refuse('invalid')
      return reply.code(400).send(validationProblem({ $: ['The request body is not valid JSON.'] }))
    }
    const { raw: rawBody, json } = body
    const parsed = campaignRequestSchema.safeParse(json)
    if (!parsed.success) {
      refuse('invalid')
      return reply.code(400).send(campaignValidationProblem(parsed.error))
    }

    const metadata = metadataTextOf(rawBody, metadataLimit, (json as Record<string, unknown>).metadata)
    if (!metadata.ok) {
      refuse('invalid')
      return reply.code(400).send(metadata.problem)
    }

    const { batch, messages, warnings } = toBatch(registration, parsed.data, metadata.json, rawBody, clock.now(), rules)
    for (const warning of warnings) {
      request.log.warn({ registration: registration.id, batchId: batch.batchId, requestId: batch.requestId, warning }, 'campaign tolerated with a warning')
    }
    let result
    try {
      // Our request id (the caller's X-Request-Id when usable) goes with the batch into the logs of its sending.
      result = await store.acceptCampaign({ ...batch, traceId: request.id }, messages)
    } catch (err) {
      refuse('unavailable')
      request.log.error({ err, registration: registration.id }, 'campaign could not be stored')
      return sendError(reply, 'unavailable', 'the campaign could not be stored; retry later')
    }
    request.log.info({ registration: registration.id, batchId: batch.batchId, requestId: batch.requestId, ...result }, 'campaign accepted')
    metrics.campaigns.inc({ registration: registration.id, outcome: result.duplicate ? 'duplicate' : 'accepted' })
    if (result.conflict) {
      // Answered as the duplicate it claims to be (nobody is texted twice), but someone should look.
      metrics.campaignConflicts.inc({ registration: registration.id })
      request.log.warn({ registration: registration.id, batchId: batch.batchId, requestId: batch.requestId, bodyHash: batch.bodyHash },
        'campaign key already accepted with another body: answered as a duplicate, nothing sent')
    }
    if (!result.duplicate) {
      metrics.campaignMessages.inc({ registration: registration.id, outcome: 'accepted' }, result.accepted)
      metrics.campaignMessages.inc({ registration: registration.id, outcome: 'rejected' }, result.rejected)
    }
    return reply.code(200).send({
      message: 'Campaign accepted',
      batchId: batch.batchId,
      requestId: batch.requestId,
      accepted: result.accepted,
      rejected: result.rejected,
      ...(result.duplicate ? { duplicate: true } : {})
    })
  })
}
