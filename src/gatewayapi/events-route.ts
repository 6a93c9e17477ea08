import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Clock } from '../lib/clock.js'
import { verifyGatewaySignature, type SignatureCheck } from '../lib/hmac-signature.js'
import type { EventStore, WebhookEvent, WebhookEventResult } from '../core/store/store.js'
import type { OptOutKeywords } from '../core/opt-out.js'
import { sendError } from '../errors.js'
import { acceptRawJson } from '../http/raw-json-body.js'
import { signedJsonBody } from '../http/signed-json-body.js'
import { checkSignatureForm } from '../lib/signature-form.js'
import type { Metrics } from '../metrics.js'
import type { ReplyRegistration } from './reply-routing.js'
import { eventOutsideWindow } from './event-window.js'
import { toStoredEvent } from './stored-event.js'
import { parseWebhookBody } from './webhook-event-parser.js'

export const GATEWAYAPI_EVENTS_PATH = '/api/v1/gatewayapi/events'
/** Event types become metric labels: a bound on their length keeps a strange one from bloating the scrape. */
const MAX_LABEL_LENGTH = 64

export interface EventsRouteOptions {
  /** The webhook secrets of every GatewayAPI account: an event signed with any of them is taken. */
  secrets: readonly string[]
  /** Events older than this are refused; their ids are remembered longer than this. */
  maxAgeMs: number
  store: EventStore
  clock: Clock
  metrics: Metrics
  /** Where customer replies may go (see reply-routing.ts). */
  registrations: ReadonlyArray<ReplyRegistration>
  /** The replies that change their registrations' suppression lists (STOP, START, and the configured ones). */
  optOut: OptOutKeywords
  /** Largest body accepted (GatewayAPI's events are a few KB); 413 above. */
  bodyLimit: number
}

/**
 * The signature checked against each account's secret in turn (each comparison in constant
 * time): valid when one matches; otherwise the first secret's verdict (a mismatch, or why the
 * header is unusable, which does not depend on the secret).
 */
function verifyWithAny (header: string | string[] | undefined, raw: Buffer, secrets: readonly string[]): SignatureCheck {
  let first: SignatureCheck | undefined
  for (const secret of secrets) {
    const check = verifyGatewaySignature(header, raw, secret)
    if (check.ok) return check
    first ??= check
  }
  return first!
}

/** Our answer to each recorded event, by what the store made of it. */
const ANSWER: Record<WebhookEventResult | 'unusable', string> = {
  new: 'recorded',
  duplicate: 'duplicate',
  'unknown-message': 'unknown-message',
  unusable: 'unusable'
}

/**
 * GatewayAPI's webhook (status callbacks and replies): signature over the raw body before
 * parsing, then parse → the timestamp policy (event-window.ts) → map (stored-event.ts: a reply is
 * routed to its registrations) →
 * one durable write (shared with concurrent events by group commit) before the 2xx, well inside
 * GatewayAPI's 5 seconds. Refused are only what GatewayAPI did not send (a bad signature, 401),
 * a body that is not JSON and an event outside the time window (400): anything else signed is
 * answered 200, an event we cannot use kept whole and counted, since a refusal would only make
 * GatewayAPI retry it for a day. A store error is a 503, so that GatewayAPI retries.
 * An encapsulated plugin: its JSON-only parser and its error handler (413 naming its own
 * limit, 415 for anything but JSON) stay local.
 */
export async function eventsRoute (app: FastifyInstance, o: EventsRouteOptions): Promise<void> {
  const count = (eventType: string, outcome: string): void => {
    o.metrics.webhookEvents.inc({ event_type: eventType.slice(0, MAX_LABEL_LENGTH), outcome })
  }
  const signatureRefused = (request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply => {
    count('unknown', 'signature-refused')
    request.log.warn({ reason }, 'GatewayAPI webhook signature refused')
    return sendError(reply, 'unauthorized', `Signature refused: ${reason}`)
  }

  acceptRawJson(app, { bodyLimit: o.bodyLimit })

  app.post(GATEWAYAPI_EVENTS_PATH, {
    bodyLimit: o.bodyLimit,
    // A missing or malformed Signature is refused before the body is read, so an unsigned caller cannot make us buffer it.
    onRequest: async (request, reply) => {
      const form = checkSignatureForm('v1', request.headers.signature, o.secrets[0]!)
      if (!form.ok) return signatureRefused(request, reply, form.reason)
    }
  }, async (request, reply) => {
    const body = signedJsonBody(request.body, (raw) => verifyWithAny(request.headers.signature, raw, o.secrets))
    if (!body.ok) {
      if (body.problem === 'signature') return signatureRefused(request, reply, body.reason)
      count('unknown', 'invalid')
      return sendError(reply, 'badRequest', body.problem === 'no-body' ? 'a JSON body is required' : 'the body is not valid JSON')
    }
    const rawBody = body.raw
    const parsed = parseWebhookBody(rawBody, body.json)
    const { eventId, eventType } = parsed
    const now = o.clock.now()
    const outside = eventOutsideWindow(parsed.createdAt, now, o.maxAgeMs)
    if (outside !== undefined) {
      count(eventType, outside.outcome)
      return sendError(reply, 'badRequest', outside.message)
    }

    let event: WebhookEvent
    try {
      event = await toStoredEvent(parsed, rawBody, now, o.registrations, (msisdn) => o.store.registrationsOfRecipient(msisdn), o.optOut)
    } catch (err) {
      request.log.error({ err, eventId }, 'the registrations of a reply could not be looked up')
      return sendError(reply, 'unavailable', 'the reply could not be routed; retry later')
    }

    let result: WebhookEventResult
    try {
      result = await o.store.recordWebhookEvent(event)
    } catch (err) {
      request.log.error({ err, eventId }, 'GatewayAPI event could not be stored')
      return sendError(reply, 'unavailable', 'the event could not be stored; retry later')
    }
    const answer = event.kind === 'unusable' && result === 'new' ? ANSWER.unusable : ANSWER[result]
    count(eventType, answer)
    if (event.kind === 'unusable' && result === 'new') request.log.warn({ eventId, eventType, reason: event.reason }, 'GatewayAPI event we cannot use; kept whole in webhook_events.raw')
    if (result === 'unknown-message') request.log.warn({ eventId, reference: event.kind === 'status' ? event.reference : undefined }, 'status event for a message we do not know')
    if (event.kind === 'inbound' && result === 'new' && event.routes.length > 1) request.log.info({ eventId, registrations: event.routes.map((r) => r.registrationId) }, 'reply given to every registration that texted the number')
    return reply.code(200).send({ status: answer })
  })
}
