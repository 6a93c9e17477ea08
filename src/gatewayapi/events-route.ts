import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Registration } from '../config.js'
import type { Clock } from '../lib/clock.js'
import { verifyGatewaySignature } from '../lib/hmac-signature.js'
import type { Store, WebhookEvent } from '../core/store/store.js'
import { sendError } from '../errors.js'
import { routeErrorHandler } from '../http/route-error-handler.js'
import { checkSignatureForm } from '../lib/signature-form.js'
import type { Metrics } from '../metrics.js'
import { outcomeOfStatus } from './status-vocabulary.js'
import { INBOUND_EVENT_TYPES, STATUS_EVENT_TYPES, inboundEventSchema, statusEventSchema, webhookEnvelopeSchema } from './webhook-schema.js'

export const GATEWAYAPI_EVENTS_PATH = '/api/v1/gatewayapi/events'
const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000

export interface EventsRouteOptions {
  secret: string
  /** Events older than this are refused; their ids are remembered longer than this. */
  maxAgeMs: number
  store: Store
  clock: Clock
  metrics: Metrics
  /** Where customer replies may go: to the registration that last texted the number, else the first. */
  registrations: ReadonlyArray<Pick<Registration, 'id' | 'inboundTo'>>
  /** Largest body accepted (GatewayAPI's events are a few KB); 413 above. */
  bodyLimit: number
  /** Told after an event is durably recorded (wakes the report sender). */
  onRecorded?: () => void
}

/**
 * GatewayAPI's webhook (status callbacks and replies): signature over the raw body before
 * parsing, the timestamp policy, then one durable write (shared with concurrent events by
 * group commit) before the 2xx, well inside GatewayAPI's 5 seconds.
 * An encapsulated plugin: its JSON-only parser and its error handler (413 naming its own
 * limit, 415 for anything but JSON) stay local.
 */
export async function eventsRoute (app: FastifyInstance, o: EventsRouteOptions): Promise<void> {
  const signatureRefused = (request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply => {
    o.metrics.webhookEvents.inc({ event_type: 'unknown', outcome: 'signature-refused' })
    request.log.warn({ reason }, 'GatewayAPI webhook signature refused')
    return sendError(reply, 'unauthorized', `Signature refused: ${reason}`)
  }

  app.setErrorHandler(routeErrorHandler({ bodyLimit: o.bodyLimit }))
  // Only JSON: Fastify's built-in text/plain parser would otherwise let a text body through.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_request, body, done) => done(null, body))

  app.post(GATEWAYAPI_EVENTS_PATH, {
    bodyLimit: o.bodyLimit,
    // A missing or malformed Signature is refused before the body is read, so an unsigned caller cannot make us buffer it.
    onRequest: async (request, reply) => {
      const form = checkSignatureForm('v1', request.headers.signature, o.secret)
      if (!form.ok) return signatureRefused(request, reply, form.reason)
    }
  }, async (request, reply) => {
    const rawBody = request.body
    if (!Buffer.isBuffer(rawBody)) return sendError(reply, 'badRequest', 'a JSON body is required')
    const signature = verifyGatewaySignature(request.headers.signature, rawBody, o.secret)
    if (!signature.ok) return signatureRefused(request, reply, signature.reason)

    const invalid = (eventType: string, what: string) => {
      o.metrics.webhookEvents.inc({ event_type: eventType, outcome: 'invalid' })
      return sendError(reply, 'badRequest', what)
    }
    let json: unknown
    try {
      json = JSON.parse(rawBody.toString('utf8'))
    } catch {
      return invalid('unknown', 'the body is not valid JSON')
    }
    const envelope = webhookEnvelopeSchema.safeParse(json)
    if (!envelope.success) return invalid('unknown', `invalid event envelope: ${describeIssues(envelope.error.issues)}`)
    const { event_id: eventId, event_type: eventType, timestamp } = envelope.data

    const now = o.clock.now()
    const createdAt = Date.parse(timestamp)
    if (createdAt > now + MAX_FUTURE_SKEW_MS) {
      o.metrics.webhookEvents.inc({ event_type: eventType, outcome: 'future' })
      return sendError(reply, 'badRequest', 'event timestamp is more than 5 minutes in the future')
    }
    if (createdAt < now - o.maxAgeMs) {
      o.metrics.webhookEvents.inc({ event_type: eventType, outcome: 'stale' })
      return sendError(reply, 'badRequest', `event timestamp is older than ${Math.round(o.maxAgeMs / 1000)} seconds`)
    }

    let event: WebhookEvent
    if (STATUS_EVENT_TYPES.has(eventType)) {
      const parsed = statusEventSchema.safeParse(envelope.data.event)
      if (!parsed.success) return invalid(eventType, `invalid status event: ${describeIssues(parsed.error.issues)}`)
      const e = parsed.data
      const outcome = outcomeOfStatus(e.status)
      event = {
        kind: 'status',
        eventId,
        eventType,
        receivedAt: now,
        reference: e.reference ?? null,
        providerMessageId: e.msg_id ?? null,
        status: e.status,
        statusAt: Date.parse(e.status_at),
        ...(outcome === undefined ? {} : { outcome }),
        ...(e.error == null ? {} : { error: { code: e.error.hex_code ?? null, details: e.error.details ?? null } })
      }
    } else if (INBOUND_EVENT_TYPES.has(eventType)) {
      const parsed = inboundEventSchema.safeParse(envelope.data.event)
      if (!parsed.success) return invalid(eventType, `invalid inbound message: ${describeIssues(parsed.error.issues)}`)
      const e = parsed.data
      const from = String(e.sender).replace(/\D/g, '')
      let registration = o.registrations[0]!
      if (o.registrations.length > 1) {
        const [id] = await o.store.registrationsOfRecipient(from).catch(() => [])
        registration = o.registrations.find((r) => r.id === id) ?? registration
      }
      event = {
        kind: 'inbound',
        eventId,
        eventType,
        receivedAt: now,
        registrationId: registration.id,
        from,
        to: registration.inboundTo,
        text: e.content.message,
        sentAt: Date.parse(e.sent_at)
      }
    } else {
      o.metrics.webhookEvents.inc({ event_type: eventType, outcome: 'ignored' })
      request.log.info({ eventType, eventId }, 'GatewayAPI event of a type we do not handle; ignored')
      return reply.code(200).send({ status: 'ignored' })
    }

    let result
    try {
      result = await o.store.recordWebhookEvent(event)
    } catch (err) {
      request.log.error({ err, eventId }, 'GatewayAPI event could not be stored')
      return sendError(reply, 'unavailable', 'the event could not be stored; retry later')
    }
    o.metrics.webhookEvents.inc({ event_type: eventType, outcome: result === 'new' ? 'recorded' : result })
    if (result === 'unknown-message') request.log.warn({ eventId, reference: event.kind === 'status' ? event.reference : undefined }, 'status event for a message we do not know')
    if (result === 'new') o.onRecorded?.()
    return reply.code(200).send({ status: result === 'new' ? 'recorded' : result })
  })
}

function describeIssues (issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`).join('; ')
}
