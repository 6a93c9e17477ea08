import type { ReceivedCall } from '../sim/optimove.js'
import { EXPECTED_TYPE, type CampaignPlan } from './campaign.js'

/**
 * What the simulated Optimove accepted (answered 200): delivery reports by message and by
 * Optimove status, reports whose status differs from the plan, and the customer's STOP.
 */
export class OptimoveTally {
  /** 200-answered delivery-report calls. */
  reportCalls = 0
  /** Reports whose type is not the one the plan gave the message's customer. */
  unplanned = 0
  /** Accepted reports by `status/subStatus`. */
  readonly types = new Map<string, number>()
  reply: { from: string; to: string; text: string } | undefined
  private readonly byMessage = new Map<string, number>()

  constructor (private readonly plan: CampaignPlan) {}

  /** Distinct messages with an accepted delivery report. */
  get reportedMessages (): number {
    return this.byMessage.size
  }

  /** Feed it every call the simulated Optimove records. */
  readonly onCall = (call: ReceivedCall): void => {
    if (call.status !== 200) return
    if (call.endpoint === 'delivery-report') this.countReport(call.body as Report)
    else if (call.endpoint === 'incoming-message') {
      const messages = (call.body as { messages: Array<{ from: string; to: string; message: string }> }).messages
      const stop = messages.find((m) => m.from === String(this.plan.replier.msisdn) && m.message === 'STOP')
      if (stop !== undefined) this.reply = { from: stop.from, to: stop.to, text: stop.message }
    }
  }

  private countReport (r: Report): void {
    this.reportCalls++
    this.byMessage.set(r.messageId, (this.byMessage.get(r.messageId) ?? 0) + 1)
    const key = `${r.type.status}/${r.type.subStatus ?? ''}`
    this.types.set(key, (this.types.get(key) ?? 0) + 1)
    // Customer ids are CUST-100001, CUST-100002, … in recipient order.
    const fate = this.plan.fates[Number(String(r.customerId).replace(/^CUST-/, '')) - 100001]
    if (fate === undefined || EXPECTED_TYPE[fate].status !== r.type.status || EXPECTED_TYPE[fate].subStatus !== r.type.subStatus) this.unplanned++
  }
}

interface Report {
  messageId: string
  customerId?: string
  type: { status: string; subStatus?: string }
}
