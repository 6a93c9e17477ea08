import { Agent } from 'undici'
import type { Registration } from '../config.js'
import type { DeliveryResult } from '../core/outbox-worker.js'
import type { PendingIncoming, PendingReport } from '../core/store/store.js'
import { classifyOptimoveAnswer } from './answer-classes.js'
import { deliveryReportBody, incomingMessagesBody } from './outbox-bodies.js'
import { OptimoveTimeoutError, postToOptimove } from './signed-post.js'

export const DELIVERY_REPORT_ENDPOINT = '/delivery-report'
export const INCOMING_MESSAGE_ENDPOINT = '/incoming-message'

/**
 * Sends outbox rows to each registration's own Optimove: delivery reports one per request,
 * replies several per request. Answers are classified by `classifyOptimoveAnswer`; timeouts
 * and network errors are retried.
 */
export function createOptimoveOutboxClient (registrations: readonly Registration[], options: { connections: number; timeoutMs: number }) {
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: 30_000 })
  const byId = new Map(registrations.map((r) => [r.id, r]))

  async function post (registrationId: string, endpoint: string, body: string): Promise<DeliveryResult> {
    const registration = byId.get(registrationId)
    if (registration === undefined) return { kind: 'park', reason: `registration "${registrationId}" is no longer configured` }
    try {
      const reply = await postToOptimove(registration, endpoint, body, { dispatcher: agent, timeoutMs: options.timeoutMs })
      return classifyOptimoveAnswer(reply, Date.now())
    } catch (err) {
      if (err instanceof OptimoveTimeoutError) return { kind: 'retry', reason: `timeout: ${err.message}` }
      return { kind: 'retry', reason: `network error: ${(err as Error).message}` }
    }
  }

  return {
    deliverReports: (reports: PendingReport[]): Promise<DeliveryResult> =>
      post(reports[0]!.registrationId, DELIVERY_REPORT_ENDPOINT, deliveryReportBody(reports[0]!)),
    deliverIncoming: (replies: PendingIncoming[]): Promise<DeliveryResult> =>
      post(replies[0]!.registrationId, INCOMING_MESSAGE_ENDPOINT, incomingMessagesBody(replies)),
    close: () => agent.close()
  }
}
