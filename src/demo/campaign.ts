/**
 * The demo's sample campaign and the fate of each recipient: which numbers are unusable,
 * which messages GatewayAPI will report EXPIRED or REJECTED, and which get an ENROUTE first.
 * Seeded, so every run with the same size sends the same campaign and expects the same counts.
 */
import type { AutoStatusStep } from '../sim/gatewayapi.js'

export type Fate = 'delivered' | 'expired' | 'rejected' | 'invalid'

export interface CampaignPlan {
  /** The body Optimove posts to the campaign URL. */
  body: { batchId: string; requestId: string; senderId: string; metadata: Record<string, unknown>; recipients: Recipient[] }
  fates: Fate[]
  /** Messages that get an ENROUTE before their final status. */
  enroute: Set<number>
  /** How many recipients of each fate. */
  counts: Record<Fate, number>
  /** Recipient index by MSISDN digits (what GatewayAPI sees), for the usable numbers. */
  indexOfMsisdn: Map<number, number>
  /** The recipient who answers STOP. */
  replier: { index: number; msisdn: number }
}

export interface Recipient {
  mobileNumber: string
  message: string
  customerId: string
}

export const SENDER_ID = 'DemoShop'
export const REJECTED_ERROR = { hex_code: '0x1905', details: 'Unsupported sender' }

const FIRST_NAMES = ['Emma', 'Noah', 'Ida', 'William', 'Freja', 'Oscar', 'Alma', 'Lucas', 'Clara', 'Karl', 'Agnes', 'Victor', 'Sofia', 'Elias', 'Ella', 'Malthe']
const OFFERS = [
  (name: string, code: string) => `Hi ${name}, your 20% spring discount ends Sunday. Use code ${code} at demoshop.example. Reply STOP to opt out.`,
  (name: string, code: string) => `${name}, the items in your basket are back in stock. Free delivery today with ${code}. Reply STOP to opt out.`,
  (name: string, code: string) => `Hello ${name}! Members get early access to the summer sale tomorrow at 9:00. Your code: ${code}. Reply STOP to opt out.`
]
/** Numbers a real customer list contains now and then; the service reports them Failed/InvalidRecipient. */
const UNUSABLE_NUMBERS = ['not-a-number', '12', '+45 1234 5678 9012 3456', '(0) 0000']

/** A small deterministic generator (mulberry32), so the campaign is the same every run. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Danish-looking mobile numbers written the ways customer data writes them. */
function mobileNumber (i: number): { written: string; msisdn: number } {
  const d = String(20000000 + i)
  const written = [
    `+45 ${d.slice(0, 2)} ${d.slice(2, 4)} ${d.slice(4, 6)} ${d.slice(6)}`,
    `+45${d}`,
    `0045 ${d.slice(0, 4)} ${d.slice(4)}`,
    `45-${d.slice(0, 4)}-${d.slice(4)}`
  ][i % 4]!
  return { written, msisdn: Number(`45${d}`) }
}

/**
 * `n` recipients: about 0.5% unusable numbers (at least one), 2% to expire, 1% to be rejected
 * by the network, the rest delivered; 5% of the sent messages get an ENROUTE first.
 */
export function planCampaign (n: number, seed = 20260522): CampaignPlan {
  const random = seededRandom(seed)
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const counts: Record<Fate, number> = {
    invalid: Math.min(n, Math.max(1, Math.round(n * 0.005))),
    expired: 0,
    rejected: 0,
    delivered: 0
  }
  counts.expired = Math.min(n - counts.invalid, Math.round(n * 0.02))
  counts.rejected = Math.min(n - counts.invalid - counts.expired, Math.round(n * 0.01))
  counts.delivered = n - counts.invalid - counts.expired - counts.rejected
  const fates: Fate[] = new Array<Fate>(n).fill('delivered')
  let k = 0
  for (const fate of ['invalid', 'expired', 'rejected'] as const) {
    for (let c = 0; c < counts[fate]; c++) fates[order[k++]!] = fate
  }
  const enroute = new Set<number>()
  const enrouteCount = Math.round((n - counts.invalid) * 0.05)
  for (let c = 0; enroute.size < enrouteCount && k + c < n; c++) enroute.add(order[k + c]!)

  const indexOfMsisdn = new Map<number, number>()
  let unusable = 0
  const recipients: Recipient[] = Array.from({ length: n }, (_, i) => {
    const name = FIRST_NAMES[Math.floor(random() * FIRST_NAMES.length)]!
    const code = `SPRING${(1000 + Math.floor(random() * 9000)).toString()}`
    const customerId = `CUST-${String(100001 + i)}`
    const message = OFFERS[i % OFFERS.length]!(name, code)
    if (fates[i] === 'invalid') return { mobileNumber: UNUSABLE_NUMBERS[unusable++ % UNUSABLE_NUMBERS.length]!, message, customerId }
    const { written, msisdn } = mobileNumber(i)
    indexOfMsisdn.set(msisdn, i)
    return { mobileNumber: written, message, customerId }
  })
  const replierIndex = fates.findIndex((f) => f === 'delivered')
  const replier = replierIndex < 0 ? { index: -1, msisdn: 0 } : { index: replierIndex, msisdn: mobileNumber(replierIndex).msisdn }

  return {
    body: {
      batchId: 'demo-spring-sale-1',
      requestId: `demo-${Date.now().toString(36)}`,
      senderId: SENDER_ID,
      metadata: {
        tenantId: 1001,
        appId: 7,
        brandId: 'demoshop-dk',
        campaignId: 'spring-sale-2026',
        campaignType: 1,
        channelId: 505,
        engagementId: 'eng-20260522-0900',
        templateId: 3114,
        isHashed: false,
        scheduledTime: Date.now()
      },
      recipients
    },
    fates,
    enroute,
    counts,
    indexOfMsisdn,
    replier
  }
}

/** What the simulated GatewayAPI reports for a message, by its planned fate. */
export function statusSteps (plan: CampaignPlan, msisdn: number): AutoStatusStep[] {
  const index = plan.indexOfMsisdn.get(msisdn)
  if (index === undefined) return ['DELIVERED']
  const final: AutoStatusStep = plan.fates[index] === 'expired'
    ? 'EXPIRED'
    : plan.fates[index] === 'rejected' ? { status: 'REJECTED', error: REJECTED_ERROR } : 'DELIVERED'
  return plan.enroute.has(index) ? ['ENROUTE', final] : [final]
}

/** The delivery report's `type` Optimove should get for each fate. */
export const EXPECTED_TYPE: Record<Fate, { status: string; subStatus: string }> = {
  delivered: { status: 'Delivered', subStatus: 'Delivered' },
  expired: { status: 'Undelivered', subStatus: 'Expired' },
  rejected: { status: 'Failed', subStatus: 'Rejected' },
  invalid: { status: 'Failed', subStatus: 'InvalidRecipient' }
}
