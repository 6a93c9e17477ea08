import type { Registration } from '../registration.js'
import { addressKey } from './event-fields.js'

export type ReplyRegistration = Pick<Registration, 'id' | 'inboundTo' | 'senderId'>

/** Where one reply goes: the registration, and the `to` Optimove gets with it. */
export interface ReplyRoute { registrationId: string; to: string }

/**
 * Which registrations a customer's reply belongs to. A reply carries no reference to the
 * message it answers, so it is matched by the two things it does carry:
 *
 * - the number the customer texted (when the event says): a registration whose `inboundTo` or
 *   `senderId` it is, is "known" to own the conversation;
 * - the customer's number: the store remembers which registrations texted it, latest first,
 *   longer than the messages themselves (`RECIPIENT_MEMORY_DAYS`).
 *
 * Among the known registrations (or all of them, when none is known), the reply goes to every
 * one that texted the number: when several could own it, each gets it, since a lost "STOP" costs
 * more than a duplicate one. When none of them texted it, it goes to the first of them.
 * A registration alone in its pool is chosen without asking the store (with one registration,
 * the store keeps no such memory). A store error is thrown: the caller answers 503 and
 * GatewayAPI retries, instead of the reply silently going to a guess.
 *
 * `to` is the number the customer texted when the event carries it, else the registration's `inboundTo`.
 */
export async function routeReply (
  reply: { from: string; to?: string },
  registrations: ReadonlyArray<ReplyRegistration>,
  sendersOf: (msisdn: string) => Promise<string[]>
): Promise<ReplyRoute[]> {
  if (registrations.length === 0) throw new Error('no registration to route a reply to')
  const toKey = reply.to === undefined ? undefined : addressKey(reply.to)
  const known = toKey === undefined ? [] : registrations.filter((r) => addressKey(r.inboundTo) === toKey || addressKey(r.senderId) === toKey)
  const pool = known.length > 0 ? known : registrations
  let chosen: ReplyRegistration[] = [pool[0]!]
  if (pool.length > 1) {
    const texted = await sendersOf(reply.from)
    const texters = texted.map((id) => pool.find((r) => r.id === id)).filter((r): r is ReplyRegistration => r !== undefined)
    if (texters.length > 0) chosen = texters
  }
  return chosen.map((r) => ({ registrationId: r.id, to: reply.to ?? r.inboundTo }))
}
