import { once, setMaxListeners } from 'node:events'
import { relative } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { GATEWAYAPI_EVENTS_PATH } from '../gatewayapi/events-route.js'
import { createLogger } from '../logger.js'
import { startService, type StartedService } from '../service.js'
import { SimGatewayApi } from '../sim/gatewayapi.js'
import { SimOptimove, type ReceivedCall } from '../sim/optimove.js'
import { freeLoopbackPort } from '../sim/http-server.js'
import { planCampaign, statusSteps } from './campaign.js'
import { prepareDemoDatabase } from './database.js'
import { DEMO_SECRETS, demoConfig } from './demo-config.js'
import { count } from './format.js'
import { ProgressDisplay, type ProgressOutput } from './progress.js'
import { reportRows, type DemoOutcome } from './summary.js'
import { OptimoveTally } from './tally.js'

export interface DemoOptions {
  recipients: number
  databasePath: string
  /** The database path came from `--db`: an existing file there is deleted only if it is a demo's. */
  databaseChosen: boolean
  /** The service's log file (truncated each run): its lines would garble the progress display. */
  logPath: string
  timeoutMs: number
  /** Redraw one progress line in place (a terminal) rather than print plain lines. */
  live: boolean
  out: ProgressOutput
  /** Aborted on Ctrl-C: the run stops early and cleans up. */
  signal: AbortSignal
}

/** How long after acceptance the simulated GatewayAPI starts reporting a message's status. */
const STATUS_DELAY_MS = 200
/** How long after receiving our SMS the customer answers STOP. */
const REPLY_DELAY_MS = 300

class DemoStop extends Error {}

/** Resolves with `promise`, or rejects with the signal's reason when it aborts first. */
async function unlessAborted<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

/**
 * One demo run: both simulated peers and the service on loopback, a campaign through the
 * whole loop (intake → relay → status events → delivery reports) and a customer's STOP,
 * then everything stopped. Never throws for a failed run: the outcome says why.
 */
export async function runDemo (o: DemoOptions): Promise<DemoOutcome> {
  const startedAt = performance.now()
  const since = (t: number): number => performance.now() - t
  const show = (p: string): string => relative(process.cwd(), p) || p
  const logPath = o.logPath
  const plan = planCampaign(o.recipients)
  const sendable = o.recipients - plan.counts.invalid
  const timeout = AbortSignal.timeout(o.timeoutMs)
  const deadline = AbortSignal.any([o.signal, timeout])
  setMaxListeners(0, deadline)

  const tally = new OptimoveTally(plan)
  let replyPosted = false
  let postedAt: number | undefined
  let allSentAt: number | undefined
  let allReportedAt: number | undefined
  let failure: string | undefined
  let progress: ProgressDisplay | undefined
  let service: StartedService | undefined
  let replyPosting: Promise<void> | undefined
  let startupMs = 0
  let intakeMs: number | undefined
  const allDone = (): boolean => tally.reportedMessages >= o.recipients && tally.reply !== undefined
  const onOptimoveCall = (call: ReceivedCall): void => {
    tally.onCall(call)
    if (allReportedAt === undefined && postedAt !== undefined && tally.reportedMessages >= o.recipients) allReportedAt = since(postedAt)
  }

  const optimove = new SimOptimove({ appApiKey: DEMO_SECRETS.optimoveAppApiKey, sharedSecret: DEMO_SECRETS.optimoveSharedSecret })
  optimove.on('call', onOptimoveCall)
  const gateway = new SimGatewayApi({
    token: DEMO_SECRETS.gatewayapiToken,
    lean: true,
    autoStatus: {
      pick: (message) => {
        if (message.recipient === plan.replier.msisdn) replyPosting ??= postReply()
        return statusSteps(plan, message.recipient)
      },
      delayMs: STATUS_DELAY_MS,
      concurrency: 32
    }
  })
  gateway.on('accepted', () => {
    if (allSentAt === undefined && postedAt !== undefined && gateway.accepted.length >= sendable) allSentAt = since(postedAt)
  })

  /** The customer who got our SMS answers STOP; GatewayAPI posts it to the webhook, retrying a failure. */
  async function postReply (): Promise<void> {
    try {
      await sleep(REPLY_DELAY_MS, undefined, { signal: deadline })
      const event = gateway.replyEvent(plan.replier.msisdn, 'STOP')
      for (let attempt = 1; attempt <= 5; attempt++) {
        const answer = await gateway.postWebhook(event).catch(() => undefined)
        if (answer !== undefined && answer.status >= 200 && answer.status < 300) {
          replyPosted = true
          return
        }
        await sleep(200 * attempt, undefined, { signal: deadline })
      }
    } catch {}
  }

  let logDestination: ReturnType<typeof pino.destination> | undefined
  try {
    prepareDemoDatabase(o.databasePath, { chosenByUser: o.databaseChosen })
    logDestination = pino.destination({ dest: logPath, sync: true, mkdir: true, append: false })
    await Promise.all([optimove.start(), gateway.start()])
    const config = demoConfig({ port: await freeLoopbackPort(), optimoveBaseUrl: optimove.baseUrl, gatewayapiBaseUrl: gateway.url, databasePath: o.databasePath })
    service = await startService(config, { logger: createLogger(config.logLevel, logDestination) })
    gateway.options.webhook = { url: `${service.url}${GATEWAYAPI_EVENTS_PATH}`, secret: config.gatewayapi.webhookSecret }
    o.out.write(`Optimove ⇄ GatewayAPI bridge demo: ${count(o.recipients)} recipients, everything on 127.0.0.1\n` +
      `  simulated Optimove    ${optimove.baseUrl}\n` +
      `  simulated GatewayAPI  ${gateway.url}\n` +
      `  bridge service        ${service.url}  (database ${show(o.databasePath)}, log ${show(logPath)})\n` +
      `  its admin listener    ${service.adminUrl}  (/metrics, /ready, /health)\n`)

    const failures = await unlessAborted(service.handshakes, deadline)
    if (failures.length > 0) throw new DemoStop(`handshake failed: ${failures.map((f) => f.reason).join('; ')}`)
    if (optimove.registration === undefined) throw new DemoStop('the handshake did not register us with the simulated Optimove')
    startupMs = since(startedAt)

    const s = service
    progress = new ProgressDisplay(o.out, o.live, async () => {
      const stats = await s.store.stats()
      const m = stats.messages
      return {
        elapsedMs: since(startedAt),
        recipients: o.recipients,
        accepted: Object.values(m).reduce((a, b) => a + b, 0),
        sent: gateway.accepted.length,
        final: m.final + m.failed,
        reported: tally.reportedMessages,
        reply: tally.reply !== undefined ? 'forwarded' : replyPosted ? 'posted' : 'waiting'
      }
    })
    progress.start()
    postedAt = performance.now()
    // As Optimove does: to the campaign URL and with the key the handshake registered.
    const answer = await optimove.sendCampaign(plan.body)
    intakeMs = since(postedAt)
    if (answer.status !== 200) throw new DemoStop(`the campaign was refused: HTTP ${answer.status} ${JSON.stringify(answer.body)}`)
    if (answer.body.accepted + answer.body.rejected !== o.recipients) {
      throw new DemoStop(`the service counted ${answer.body.accepted} accepted + ${answer.body.rejected} rejected of ${o.recipients} recipients`)
    }
    if (allSentAt === undefined && gateway.accepted.length >= sendable) allSentAt = since(postedAt)

    // Done when every message's report and the reply reached Optimove, or at the deadline.
    while (!allDone() && !deadline.aborted) {
      await once(optimove, 'call', { signal: deadline }).catch(() => {})
    }
  } catch (err) {
    // Running out of time or Ctrl-C is judged below, from what did arrive.
    if (err instanceof DemoStop || !deadline.aborted) failure = (err as Error).message
  } finally {
    await progress?.stop().catch(() => {})
    await gateway.close()
    await replyPosting
    await service?.stop()
    await optimove.close()
    logDestination?.end()
  }

  const duplicates = tally.reportCalls - tally.reportedMessages
  const timeoutText = `${Math.round(o.timeoutMs / 1000)} s`
  const missing = [
    tally.reportedMessages < o.recipients ? `${count(tally.reportedMessages)} of ${count(o.recipients)} messages reported` : undefined,
    tally.reply === undefined ? 'the STOP reply was not forwarded' : undefined
  ].filter((m) => m !== undefined).join(', ')
  if (failure === undefined) {
    if (o.signal.aborted) failure = `interrupted${missing === '' ? '' : `: ${missing}`}`
    else if (missing !== '') failure = timeout.aborted ? `timed out after ${timeoutText}: ${missing}` : missing
    else if (duplicates > 0) failure = `${count(duplicates)} delivery report(s) were sent more than once`
  }

  const stats = gateway.autoStatusStats
  return {
    recipients: o.recipients,
    rows: reportRows(plan.counts, tally.types),
    reportCalls: tally.reportCalls,
    reportedMessages: tally.reportedMessages,
    unplanned: tally.unplanned,
    reply: tally.reply,
    gateway: {
      requests: gateway.requestLog.length,
      accepted: gateway.accepted.length,
      eventsPosted: stats.posted,
      eventsRetried: stats.retried,
      eventsFailed: stats.failed
    },
    timings: {
      startupMs,
      ...(intakeMs === undefined ? {} : { intakeMs }),
      ...(allSentAt === undefined ? {} : { allSentMs: allSentAt }),
      ...(allReportedAt === undefined ? {} : { allReportedMs: allReportedAt }),
      totalMs: since(startedAt)
    },
    files: { database: show(o.databasePath), log: show(logPath) },
    ...(failure === undefined ? {} : { failure })
  }
}
