import type { WebhookEvent } from '../core/store/store.js'
import { routeReply, type ReplyRegistration } from './reply-routing.js'
import { optOutIntent, type OptOutKeywords } from '../core/opt-out.js'
import type { ParsedWebhook } from './webhook-event-parser.js'

/**
 * A parsed webhook event as the store keeps it: a status as it is; a reply with the
 * registrations it goes to (looked up by `registrationsOf`, which may throw: the caller answers
 * 503 so that GatewayAPI retries) and whether it opts its number out or in (`optOut`'s keywords;
 * the store changes those registrations' suppression lists with it); an unusable event with its
 * whole body.
 */
export async function toStoredEvent (
  parsed: ParsedWebhook,
  rawBody: Buffer,
  receivedAt: number,
  registrations: ReadonlyArray<ReplyRegistration>,
  registrationsOf: (msisdn: string) => Promise<string[]>,
  optOut: OptOutKeywords
): Promise<WebhookEvent> {
  const { eventId, eventType, event: content } = parsed
  const common = { eventId, eventType, receivedAt }
  if (content.kind === 'status') return { ...common, ...content }
  if (content.kind === 'reply') {
    const routes = await routeReply(content, registrations, registrationsOf)
    const intent = optOutIntent(content.text, optOut)
    return { ...common, kind: 'inbound', routes, from: content.from, text: content.text, sentAt: content.sentAt, ...(intent === undefined ? {} : { optOut: intent }) }
  }
  return { ...common, kind: 'unusable', reason: content.reason, raw: rawBody.toString('utf8') }
}
