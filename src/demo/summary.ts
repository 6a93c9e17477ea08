import { EXPECTED_TYPE, type Fate } from './campaign.js'
import { count, duration } from './format.js'

export interface ReportRow {
  status: string
  subStatus: string
  reports: number
  planned: number
}

export interface DemoOutcome {
  recipients: number
  /** Delivery reports Optimove answered 200, by type, planned rows first. */
  rows: ReportRow[]
  /** 200-answered delivery-report calls, distinct messages among them, and reports whose type was not the planned one. */
  reportCalls: number
  reportedMessages: number
  unplanned: number
  reply: { from: string; to: string; text: string } | undefined
  gateway: { requests: number; accepted: number; eventsPosted: number; eventsRetried: number; eventsFailed: number }
  timings: { startupMs: number; intakeMs?: number; allSentMs?: number; allReportedMs?: number; totalMs: number }
  files: { database: string; log: string }
  /** Why the run did not succeed; undefined when it did. */
  failure?: string
}

/** Report rows: one per planned type (even when none arrived), then any other type that arrived. */
export function reportRows (planned: Record<Fate, number>, arrived: Map<string, number>): ReportRow[] {
  const rows: ReportRow[] = []
  const seen = new Set<string>()
  for (const fate of ['delivered', 'expired', 'rejected', 'invalid'] as const) {
    const { status, subStatus } = EXPECTED_TYPE[fate]
    const key = `${status}/${subStatus}`
    seen.add(key)
    if (planned[fate] > 0 || (arrived.get(key) ?? 0) > 0) rows.push({ status, subStatus, reports: arrived.get(key) ?? 0, planned: planned[fate] })
  }
  for (const [key, n] of arrived) {
    if (seen.has(key)) continue
    const [status = '', subStatus = ''] = key.split('/')
    rows.push({ status, subStatus, reports: n, planned: 0 })
  }
  return rows
}

function table (header: string[], rows: string[][], rightAligned: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join('   ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)]
}

/** The end-of-run summary: delivery reports by Optimove status, the reply, GatewayAPI's side, timings. */
export function formatSummary (o: DemoOutcome): string {
  const out: string[] = ['', 'Delivery reports accepted by Optimove (simulated)']
  const totalPlanned = o.rows.reduce((n, r) => n + r.planned, 0)
  const duplicates = o.reportCalls - o.reportedMessages
  const note = duplicates > 0
    ? `${count(duplicates)} duplicate report(s)`
    : o.reportedMessages === o.recipients ? 'every message reported exactly once' : `${count(o.recipients - o.reportedMessages)} message(s) not reported`
  out.push(...table(
    ['status', 'subStatus', 'reports', 'planned'],
    [
      ...o.rows.map((r) => [r.status, r.subStatus, count(r.reports), count(r.planned)]),
      ['total', '', count(o.reportCalls), count(totalPlanned), note]
    ],
    new Set([2, 3])
  ))
  if (o.unplanned > 0) out.push(`  ${count(o.unplanned)} report(s) carried another status than the one GatewayAPI was told to send`)
  out.push('')
  out.push(o.reply === undefined
    ? 'Reply: the customer\'s "STOP" did not reach Optimove\'s incoming-message endpoint'
    : `Reply forwarded to Optimove's incoming-message endpoint: "${o.reply.text}" from ${o.reply.from} to ${o.reply.to}`)
  const g = o.gateway
  out.push(`GatewayAPI (simulated): ${count(g.accepted)} messages accepted in ${count(g.requests)} request(s); ` +
    `${count(g.eventsPosted)} status events posted to the webhook, ${count(g.eventsRetried)} retried, ${count(g.eventsFailed)} given up`)
  out.push('')
  out.push('Timings')
  const t = o.timings
  const since = (ms: number | undefined): string => ms === undefined ? 'not reached' : duration(ms)
  out.push(...table(['', ''], [
    ['startup (simulators, service, handshake)', duration(t.startupMs)],
    [`intake (${count(o.recipients)} recipients, one request)`, since(t.intakeMs)],
    ['campaign posted → all sent to GatewayAPI', since(t.allSentMs)],
    ['campaign posted → all reported to Optimove', since(t.allReportedMs)],
    ['total', duration(t.totalMs)]
  ], new Set([1])).slice(2))
  out.push('')
  out.push(`Database: ${o.files.database}   Service log: ${o.files.log}`)
  out.push(o.failure === undefined ? 'Result: OK' : `Result: FAILED (${o.failure})`)
  return out.join('\n') + '\n'
}
