import { randomBytes, randomUUID } from 'node:crypto'
import type { FinalOutcome } from '../../src/core/outcomes.js'
import type {
  AcceptResult, BatchRecord, ClaimedMessage, IncomingRecord, InstanceRecord, MessageRecord, MessageState, NewBatch, OutboxName, OutboxSettlement, OutboxState,
  PendingIncoming, PendingReport, PruneResult, RecipientRecord, ReportRecord, Store, StoreContents, StoreStats, Suppression, TakenOver, WebhookEvent, WebhookEventRecord,
  WorkKind
} from '../../src/core/store/store.js'
import { OUTBOX_ROW_OVERHEAD_BYTES as ROW_OVERHEAD_BYTES } from '../../src/core/store/outbox-weight.js'
import { NO_FINAL_STATUS_REASON as NO_FINAL_STATUS } from '../../src/core/store/no-final-status.js'
import { claimLimit, claimTurns, servedBy } from '../../src/core/store/claim-turns.js'
import { CANCELLED_BY_ERASURE, CANCELLED_BY_OPERATOR } from '../../src/core/store/operator-rules.js'

/**
 * The store port in memory, for loop tests that need no database: the same contract as the
 * SQLite adapter (the contract suite runs against both), nothing durable. Every method acts at
 * once and resolves on the next microtask, as one transaction would. Stores opened on one
 * `MemoryDatabase` share it, as replicas share a database; unlike SQLite, they hear each other's
 * work signals (on a later turn of the event loop, as a notification arrives).
 */

interface Batch {
  id: number
  registrationId: string
  idempotencyKey: string
  batchId: string
  requestId: string
  senderId: string
  metadata: string
  scheduledAt: number
  accepted: number
  rejected: number
  receivedAt: number
  bodyHash: string | null
  /** Its messages' reference prefix. */
  uid: string
  traceId: string | null
}

interface Message extends Omit<MessageRecord, 'id' | 'batchId' | 'createdAt'> {
  id: number
  batch: Batch
}

interface OutboxRow {
  id: number
  registrationId: string
  state: OutboxState
  attempts: number
  nextAttemptAt: number
  leaseOwner: string | null
  lastError: string | null
  createdAt: number
}

interface Report extends OutboxRow {
  message: Message
  outcome: FinalOutcome
  statusAt: number
  errorCode: string | null
  errorDetails: string | null
}

interface Incoming extends OutboxRow {
  from: string
  to: string
  text: string
  sentAt: number
}

interface RememberedEvent extends Omit<WebhookEventRecord, 'messageId'> {
  messageId: number | null
}

/** What the stores opened on it share, as the stores opened on one SQLite file share its tables. */
export interface MemoryDatabase {
  lastId: number
  batches: Batch[]
  messages: Map<number, Message>
  reports: Map<number, Report>
  incoming: Map<number, Incoming>
  events: Map<string, RememberedEvent>
  /** msisdn → registration → last sent. */
  recipients: Map<string, Map<string, number>>
  instances: Map<string, { startedAt: number; heartbeatAt: number }>
  jobLeases: Map<string, { owner: string; leaseUntil: number }>
  /** Paused registrations, and when each was paused. */
  paused: Map<string, number>
  /** Suppression lists: `registration msisdn` → the entry. */
  suppressions: Map<string, Suppression>
  /** The work listeners of its stores, each with its store's instance. */
  listeners: Set<{ instanceId: string; listener: (kind: WorkKind) => void }>
}

/** An empty database, for stores that share it. */
export function createMemoryDatabase (): MemoryDatabase {
  return {
    lastId: 0,
    batches: [],
    messages: new Map(),
    reports: new Map(),
    incoming: new Map(),
    events: new Map(),
    recipients: new Map(),
    instances: new Map(),
    jobLeases: new Map(),
    paused: new Map(),
    suppressions: new Map(),
    listeners: new Set()
  }
}

export interface MemoryStoreOptions {
  /** The database to share with other stores (default: one of its own). */
  database?: MemoryDatabase
  /** This store's name among the replicas (default: a random UUID). */
  instanceId?: string
}

const OUTBOX_STATES = ['pending', 'sending', 'done', 'parked'] as const

/** Rows counted by state, every state present. */
function countStates<S extends string> (states: readonly S[], rows: Iterable<{ state: S }>): Record<S, number> {
  const counts = Object.fromEntries(states.map((s) => [s, 0])) as Record<S, number>
  for (const row of rows) counts[row.state]++
  return counts
}

export function openMemoryStore (options: MemoryStoreOptions = {}): Store {
  let closed = false
  const db = options.database ?? createMemoryDatabase()
  const instanceId = options.instanceId ?? randomUUID()
  const nextId = (): number => ++db.lastId
  const { batches, messages, reports, incoming, events, recipients } = db
  /** This store's work listeners, stopped when it closes. */
  const listening = new Set<() => Promise<void>>()

  /** One transaction: refused once closed, resolved on the next microtask. */
  const tx = async <T>(work: () => T): Promise<T> => {
    if (closed) throw new Error('the store is closed')
    return work()
  }
  const byDue = <T extends { nextAttemptAt: number; id: number }>(a: T, b: T): number => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id
  /** Entries by their keys, in binary order (as the SQL adapters order names). */
  const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0)

  const queueReport = (message: Message, outcome: FinalOutcome, statusAt: number, errorCode: string | null, errorDetails: string | null, now: number): void => {
    const id = nextId()
    reports.set(id, { id, registrationId: message.batch.registrationId, state: 'pending', attempts: 0, nextAttemptAt: now, leaseOwner: null, lastError: null, createdAt: now, message, outcome, statusAt, errorCode, errorDetails })
  }

  const findBatch = (registrationId: string, key: string, ids?: { requestId: string; batchId: string }): Batch | undefined =>
    batches.find((b) => b.registrationId === registrationId && b.idempotencyKey === key && (ids === undefined || (b.requestId === ids.requestId && b.batchId === ids.batchId)))

  const remembered = (event: WebhookEvent): RememberedEvent =>
    ({ eventId: event.eventId, eventType: event.eventType, messageId: null, status: null, statusAt: null, errorCode: null, errorDetails: null, raw: null, receivedAt: event.receivedAt })

  const settle = (message: Message, attempt: number | undefined): boolean =>
    attempt === undefined ? message.state === 'queued' || message.state === 'sending' : message.state === 'sending' && message.attempts === attempt

  function claimOutbox<T extends OutboxRow> (rows: Map<number, T>, now: number, limit: number, leaseMs: number, maxBytes: number, excluded: readonly string[], weigh: (row: T) => [part: unknown, bytes: number]): T[] {
    const due = (state: OutboxState): T[] => [...rows.values()]
      .filter((r) => r.state === state && r.nextAttemptAt <= now && !excluded.includes(r.registrationId)).sort(byDue)
    const chosen: T[] = []
    const seen = new Set<unknown>()
    let bytes = 0
    choosing: for (const row of [...due('sending'), ...due('pending')]) {
      if (chosen.length >= limit) break
      const [part, size] = weigh(row)
      const weight = ROW_OVERHEAD_BYTES + (seen.has(part) ? 0 : size)
      if (chosen.length > 0 && bytes + weight > maxBytes) break choosing
      bytes += weight
      seen.add(part)
      chosen.push(row)
    }
    for (const row of chosen) {
      row.state = 'sending'
      row.attempts++
      row.nextAttemptAt = now + leaseMs
      row.leaseOwner = instanceId
    }
    return chosen
  }

  return {
    instanceId,
    acceptCampaign: (batch: NewBatch, given) => tx((): AcceptResult => {
      const existing = findBatch(batch.registrationId, batch.idempotencyKey) ??
        (batch.legacyIdempotencyKeys ?? []).map((key) => findBatch(batch.registrationId, key, batch)).find((b) => b !== undefined)
      if (existing !== undefined) {
        const conflict = existing.bodyHash !== null && batch.bodyHash !== undefined && existing.bodyHash !== batch.bodyHash
        return { duplicate: true, conflict, accepted: existing.accepted, rejected: existing.rejected }
      }
      const rejected = given.filter((m) => m.failure !== undefined).length
      const uid = randomBytes(9).toString('base64url')
      const stored: Batch = {
        uid,
        traceId: batch.traceId ?? null,
        id: nextId(), registrationId: batch.registrationId, idempotencyKey: batch.idempotencyKey, batchId: batch.batchId, requestId: batch.requestId,
        senderId: batch.senderId, metadata: batch.metadataJson, scheduledAt: batch.scheduledAt, accepted: given.length - rejected, rejected,
        receivedAt: batch.receivedAt, bodyHash: batch.bodyHash ?? null
      }
      batches.push(stored)
      const now = batch.receivedAt
      given.forEach((m, i) => {
        const message: Message = {
          id: nextId(), batch: stored, reference: `${uid}-${i}`, mobileNumber: m.mobileNumber, givenNumber: m.givenNumber ?? null, customerId: m.customerId,
          text: m.text, state: m.failure === undefined ? 'queued' : 'failed', attempts: 0, nextAttemptAt: batch.scheduledAt, leaseUntil: null,
          leaseOwner: null, providerMessageId: null, finalOutcome: m.failure?.outcome ?? null, lastError: m.failure?.reason ?? null, updatedAt: now
        }
        messages.set(message.id, message)
        if (m.failure !== undefined) queueReport(message, m.failure.outcome, now, null, m.failure.reason, now)
        else {
          const known = recipients.get(m.mobileNumber) ?? new Map<string, number>()
          known.set(batch.registrationId, now)
          recipients.set(m.mobileNumber, known)
        }
      })
      return { duplicate: false, conflict: false, accepted: stored.accepted, rejected }
    }),

    claimDue: (now, limit, leaseMs, scope) => tx((): ClaimedMessage[] => {
      const waiting = [...messages.values()].filter((m) => (m.state === 'sending' || m.state === 'queued') && m.nextAttemptAt <= now && !db.paused.has(m.batch.registrationId))
      const registration = claimTurns(waiting.map((m) => m.batch.registrationId), scope)[0]
      const due = (state: MessageState): Message[] => waiting.filter((m) => m.state === state && m.batch.registrationId === registration).sort(byDue)
      // Leases of a crashed process first: those messages have waited longest.
      const claimed = registration === undefined ? [] : [...due('sending'), ...due('queued')].slice(0, claimLimit(registration, limit, scope))
      return claimed.map((m) => {
        m.state = 'sending'
        m.attempts++
        m.nextAttemptAt = now + leaseMs
        m.leaseUntil = now + leaseMs
        m.leaseOwner = instanceId
        m.updatedAt = now
        const optedOut = db.suppressions.has(`${m.batch.registrationId} ${m.mobileNumber}`) ? { optedOut: true as const } : {}
        return { ...optedOut, ...(m.batch.traceId === null ? {} : { traceId: m.batch.traceId }), id: String(m.id), reference: m.reference, registrationId: m.batch.registrationId, senderId: m.batch.senderId, msisdn: m.mobileNumber, text: m.text, attempts: m.attempts, dueSince: m.batch.scheduledAt }
      })
    }),

    markSubmitted: (results, now) => tx(() => {
      for (const r of results) {
        const m = messages.get(Number(r.id))
        if (m === undefined || !settle(m, r.attempt)) continue
        Object.assign(m, { state: 'submitted', providerMessageId: r.providerMessageId, leaseUntil: null, updatedAt: now })
      }
    }),

    reschedule: (items, error, now, options = {}) => tx(() => {
      for (const item of items) {
        const m = messages.get(Number(item.id))
        if (m === undefined || !settle(m, item.attempt)) continue
        Object.assign(m, { state: 'queued', nextAttemptAt: item.at, leaseUntil: null, lastError: error, attempts: m.attempts - (options.refundAttempt === true ? 1 : 0), updatedAt: now })
      }
    }),

    fail: (items, now) => tx(() => {
      for (const item of items) {
        const m = messages.get(Number(item.id))
        if (m === undefined || !settle(m, item.attempt)) continue
        Object.assign(m, { state: 'failed', finalOutcome: item.outcome, lastError: item.reason, leaseUntil: null, updatedAt: now })
        queueReport(m, item.outcome, now, item.errorCode ?? null, item.reason, now)
      }
    }),

    nextDueAt: (excluded = [], only) => tx(() => {
      const due = [...messages.values()]
        .filter((m) => (m.state === 'queued' || m.state === 'sending') && servedBy(m.batch.registrationId, excluded, only) && !db.paused.has(m.batch.registrationId)).map((m) => m.nextAttemptAt)
      return due.length === 0 ? undefined : Math.min(...due)
    }),

    recordWebhookEvent: (event: WebhookEvent) => tx(() => {
      if (events.has(event.eventId)) return 'duplicate' as const
      if (event.kind === 'inbound') {
        events.set(event.eventId, { ...remembered(event), messageId: null })
        for (const route of event.routes) {
          const key = `${route.registrationId} ${event.from}`
          if (event.optOut === 'stop' && !db.suppressions.has(key)) db.suppressions.set(key, { registrationId: route.registrationId, msisdn: event.from, suppressedAt: event.receivedAt, source: 'stop' })
          else if (event.optOut === 'start') db.suppressions.delete(key)
          const id = nextId()
          incoming.set(id, { id, registrationId: route.registrationId, state: 'pending', attempts: 0, nextAttemptAt: event.receivedAt, leaseOwner: null, lastError: null, createdAt: event.receivedAt, from: event.from, to: route.to, text: event.text, sentAt: event.sentAt })
        }
        return 'new' as const
      }
      if (event.kind === 'unusable') {
        // The reason goes where a status's error details would, as in the SQLite adapter.
        events.set(event.eventId, { ...remembered(event), messageId: null, errorDetails: event.reason, raw: event.raw })
        return 'new' as const
      }
      const all = [...messages.values()]
      const message = (event.reference === null ? undefined : all.find((m) => m.reference === event.reference)) ??
        (event.providerMessageId === null ? undefined : all.find((m) => m.providerMessageId === event.providerMessageId))
      events.set(event.eventId, {
        ...remembered(event), messageId: message?.id ?? null, status: event.status, statusAt: event.statusAt, errorCode: event.error?.code ?? null, errorDetails: event.error?.details ?? null
      })
      if (message === undefined) return 'unknown-message' as const
      // A final state is reported once; later or out-of-order events only join the history.
      if (event.outcome !== undefined && message.state !== 'final' && message.state !== 'failed') {
        Object.assign(message, { state: 'final', finalOutcome: event.outcome, providerMessageId: message.providerMessageId ?? event.providerMessageId, leaseUntil: null, updatedAt: event.receivedAt })
        queueReport(message, event.outcome, event.statusAt, event.error?.code ?? null, event.error?.details ?? null, event.receivedAt)
      }
      return 'new' as const
    }),

    claimReports: (now, limit, leaseMs, maxBytes = Number.POSITIVE_INFINITY, excluded = []) => tx((): PendingReport[] =>
      claimOutbox(reports, now, limit, leaseMs, maxBytes, excluded, (r) => [r.message.batch, r.message.batch.metadata.length]).map((r) => ({
        id: String(r.id),
        registrationId: r.registrationId,
        attempts: r.attempts,
        outcome: r.outcome,
        statusAt: r.statusAt,
        error: r.errorCode === null && r.errorDetails === null ? null : { code: r.errorCode, details: r.errorDetails },
        reference: r.message.reference,
        providerMessageId: r.message.providerMessageId,
        mobileNumber: r.message.givenNumber ?? r.message.mobileNumber,
        customerId: r.message.customerId,
        batchId: r.message.batch.batchId,
        requestId: r.message.batch.requestId,
        senderId: r.message.batch.senderId,
        metadataJson: r.message.batch.metadata
      }))),

    claimIncoming: (now, limit, leaseMs, maxBytes = Number.POSITIVE_INFINITY, excluded = []) => tx((): PendingIncoming[] =>
      claimOutbox(incoming, now, limit, leaseMs, maxBytes, excluded, (r) => [r, r.text.length])
        .map((r) => ({ id: String(r.id), registrationId: r.registrationId, attempts: r.attempts, from: r.from, to: r.to, text: r.text, sentAt: r.sentAt }))),

    settleOutbox: (outbox: OutboxName, s: OutboxSettlement, now) => tx(() => {
      const rows: Map<number, OutboxRow> = outbox === 'reports' ? reports : incoming
      const leased = (id: string): OutboxRow | undefined => {
        const row = rows.get(Number(id))
        return row?.state === 'sending' ? row : undefined
      }
      for (const id of s.done ?? []) Object.assign(leased(id) ?? {}, { state: 'done' })
      for (const { id, at } of s.retry ?? []) Object.assign(leased(id) ?? {}, { state: 'pending', nextAttemptAt: at, lastError: s.error ?? null })
      for (const id of s.parked ?? []) Object.assign(leased(id) ?? {}, { state: 'parked', nextAttemptAt: now, lastError: s.error ?? null })
    }),

    prune: (cutoff, recipientCutoff = cutoff) => tx((): PruneResult => {
      const deleted: PruneResult = { webhookEvents: 0, reports: 0, incoming: 0, messages: 0, batches: 0, recipients: 0 }
      for (const [id, e] of events) if (e.receivedAt < cutoff) { events.delete(id); deleted.webhookEvents++ }
      for (const [id, r] of reports) if (r.state === 'done' && r.createdAt < cutoff) { reports.delete(id); deleted.reports++ }
      for (const [id, r] of incoming) if (r.state === 'done' && r.createdAt < cutoff) { incoming.delete(id); deleted.incoming++ }
      const owed = new Set([...reports.values()].map((r) => r.message.id))
      for (const [id, m] of messages) {
        if ((m.state === 'final' || m.state === 'failed') && m.updatedAt < cutoff && !owed.has(id)) {
          messages.delete(id)
          for (const [eventId, e] of events) if (e.messageId === id) events.delete(eventId)
          deleted.messages++
        }
      }
      const used = new Set([...messages.values()].map((m) => m.batch))
      for (let i = batches.length - 1; i >= 0; i--) {
        const b = batches[i]!
        if (b.receivedAt < cutoff && !used.has(b)) { batches.splice(i, 1); deleted.batches++ }
      }
      for (const [msisdn, known] of recipients) {
        for (const [registration, at] of known) if (at < recipientCutoff) { known.delete(registration); deleted.recipients++ }
        if (known.size === 0) recipients.delete(msisdn)
      }
      return deleted
    }),

    registrationsOfRecipient: (msisdn) => tx(() => [...(recipients.get(msisdn) ?? new Map<string, number>())]
      // Ties in binary order, as the SQL adapters compare names.
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([registration]) => registration)),

    endUnconfirmed: (cutoffs, otherwise, now) => tx(() => {
      const before = new Map(cutoffs.map((c) => [c.registrationId, c.submittedBefore]))
      let ended = 0
      for (const m of [...messages.values()].sort((a, b) => a.updatedAt - b.updatedAt)) {
        if (m.state !== 'submitted' || m.updatedAt >= (before.get(m.batch.registrationId) ?? otherwise)) continue
        Object.assign(m, { state: 'final', finalOutcome: 'no-final-status', leaseUntil: null, lastError: NO_FINAL_STATUS, updatedAt: now })
        queueReport(m, 'no-final-status', now, null, NO_FINAL_STATUS, now)
        ended++
      }
      return ended
    }),

    heartbeat: (now, deadBefore) => tx((): TakenOver[] => {
      // This instance's beat first, so that its own lateness never counts against it.
      db.instances.set(instanceId, { startedAt: db.instances.get(instanceId)?.startedAt ?? now, heartbeatAt: now })
      const dead = [...db.instances].filter(([id, i]) => id !== instanceId && i.heartbeatAt < deadBefore).sort(byKey)
      return dead.map(([id, instance]) => {
        let claims = 0
        // Its leases end now (for outbox rows, the lease's end is their due time), their attempt counts as they were.
        for (const m of messages.values()) if (m.state === 'sending' && m.leaseOwner === id) { m.nextAttemptAt = now; m.leaseUntil = now; claims++ }
        for (const r of [...reports.values(), ...incoming.values()]) if (r.state === 'sending' && r.leaseOwner === id) { r.nextAttemptAt = now; claims++ }
        db.instances.delete(id)
        return { instanceId: id, lastHeartbeatAt: instance.heartbeatAt, claims }
      })
    }),

    retireInstance: () => tx(() => {
      db.instances.delete(instanceId)
      for (const [job, lease] of db.jobLeases) if (lease.owner === instanceId) db.jobLeases.delete(job)
    }),

    leaseJob: (job, now, until) => tx(() => {
      const lease = db.jobLeases.get(job)
      if (lease !== undefined && lease.owner !== instanceId && lease.leaseUntil > now) return false
      db.jobLeases.set(job, { owner: instanceId, leaseUntil: until })
      return true
    }),

    signalWork: (kinds) => tx(() => {
      for (const entry of db.listeners) {
        if (entry.instanceId === instanceId) continue
        setImmediate(() => { if (db.listeners.has(entry)) for (const kind of kinds) entry.listener(kind) })
      }
    }),

    listenForWork: (listener) => tx(() => {
      const entry = { instanceId, listener }
      db.listeners.add(entry)
      const stop = async (): Promise<void> => {
        db.listeners.delete(entry)
        listening.delete(stop)
      }
      listening.add(stop)
      return stop
    }),

    ping: () => tx(() => undefined),

    async parked ({ limit = Number.POSITIVE_INFINITY } = {}) {
      const all = await this.inspect()
      return { reports: all.reports.filter((r) => r.state === 'parked').slice(0, limit), incoming: all.incoming.filter((r) => r.state === 'parked').slice(0, limit) }
    },

    async lookupBatches (key, limit) {
      const all = await this.inspect()
      return batches.filter((b) => String(b.id) === key || b.uid === key || b.batchId === key || b.requestId === key).reverse().slice(0, limit).map((b) => {
        const its = [...messages.values()].filter((m) => m.batch === b)
        return {
          batch: all.batches.find((r) => r.id === String(b.id))!,
          messages: countStates(['queued', 'sending', 'submitted', 'final', 'failed'] as const, its),
          reports: countStates(OUTBOX_STATES, [...reports.values()].filter((r) => r.message.batch === b))
        }
      })
    },
    async lookupMessages (key, limit) {
      if (key === '') return []
      const all = await this.inspect()
      return [...messages.values()].filter((m) => m.reference === key || m.providerMessageId === key || m.mobileNumber === key)
        .sort((a, b) => b.id - a.id).slice(0, limit).map((m) => ({
          message: all.messages.find((r) => r.id === String(m.id))!,
          registrationId: m.batch.registrationId,
          batch: { batchId: m.batch.batchId, requestId: m.batch.requestId },
          history: [...events.values()].filter((e) => e.messageId === m.id)
            .map((e) => ({ eventId: e.eventId, status: e.status, statusAt: e.statusAt, errorCode: e.errorCode, errorDetails: e.errorDetails, receivedAt: e.receivedAt })),
          reports: all.reports.filter((r) => r.messageId === String(m.id))
        }))
    },
    requeueParked: (filter, now) => tx(() => {
      const requeue = (rows: Iterable<OutboxRow>): number => {
        let n = 0
        for (const r of rows) {
          if (r.state !== 'parked' || (filter.registrationId !== undefined && r.registrationId !== filter.registrationId) || (filter.since !== undefined && r.nextAttemptAt < filter.since)) continue
          Object.assign(r, { state: 'pending', attempts: 0, nextAttemptAt: now, leaseOwner: null })
          n++
        }
        return n
      }
      return { reports: requeue(reports.values()), incoming: requeue(incoming.values()) }
    }),
    cancelBatch: (batchId, now) => tx(() => {
      const batch = batches.find((b) => String(b.id) === batchId)
      if (batch === undefined) return undefined
      const result = { cancelled: 0, inFlight: 0, alreadyDone: 0 }
      for (const m of messages.values()) {
        if (m.batch !== batch) continue
        if (m.state === 'queued') {
          Object.assign(m, { state: 'failed', finalOutcome: 'cancelled', lastError: CANCELLED_BY_OPERATOR, updatedAt: now })
          queueReport(m, 'cancelled', now, null, CANCELLED_BY_OPERATOR, now)
          result.cancelled++
        } else if (m.state === 'sending') result.inFlight++
        else result.alreadyDone++
      }
      return result
    }),
    setRegistrationPaused: (registrationId, paused, now) => tx(() => {
      const before = db.paused.has(registrationId)
      if (!paused) db.paused.delete(registrationId)
      else if (!before) db.paused.set(registrationId, now)
      return before
    }),
    pausedRegistrations: () => tx(() => [...db.paused].sort(byKey).map(([registrationId, pausedAt]) => ({ registrationId, pausedAt }))),
    erasePhoneNumber: (msisdn, now) => tx(() => {
      const erased = { messages: 0, replies: 0, recipients: 0, webhookEvents: 0, suppressions: 0 }
      if (msisdn === '') return erased
      const blank = <T extends string | null>(text: T): T => (text === null ? text : text.replaceAll(msisdn, '')) as T
      for (const m of messages.values()) {
        if (m.mobileNumber !== msisdn) continue
        if (m.state === 'queued') {
          Object.assign(m, { state: 'failed', finalOutcome: 'cancelled', lastError: CANCELLED_BY_ERASURE, updatedAt: now })
          queueReport(m, 'cancelled', now, null, CANCELLED_BY_ERASURE, now)
        }
        Object.assign(m, { mobileNumber: '', givenNumber: null, text: '', lastError: blank(m.lastError) })
        for (const r of reports.values()) if (r.message === m) Object.assign(r, { errorDetails: blank(r.errorDetails), lastError: blank(r.lastError) })
        erased.messages++
      }
      for (const [id, r] of incoming) if (r.from === msisdn) { incoming.delete(id); erased.replies++ }
      erased.recipients = recipients.get(msisdn)?.size ?? 0
      recipients.delete(msisdn)
      for (const e of events.values()) {
        if (!(e.raw ?? '').includes(msisdn) && !(e.errorDetails ?? '').includes(msisdn)) continue
        Object.assign(e, { raw: blank(e.raw), errorDetails: blank(e.errorDetails) })
        erased.webhookEvents++
      }
      for (const [key, entry] of db.suppressions) if (entry.msisdn === msisdn) { db.suppressions.delete(key); erased.suppressions++ }
      return erased
    }),
    setSuppressed: (registrationId, msisdn, suppressed, now) => tx(() => {
      const key = `${registrationId} ${msisdn}`
      const before = db.suppressions.has(key)
      if (!suppressed) db.suppressions.delete(key)
      else if (!before) db.suppressions.set(key, { registrationId, msisdn, suppressedAt: now, source: 'operator' })
      return before
    }),
    suppressions: (filter, limit) => tx(() => [...db.suppressions.values()]
      .filter((s) => filter.registrationId === undefined || s.registrationId === filter.registrationId)
      .sort((a, b) => byKey([a.registrationId, 0], [b.registrationId, 0]) || byKey([a.msisdn, 0], [b.msisdn, 0])).slice(0, limit).map((s) => ({ ...s }))),

    inspect: ({ limit = Number.POSITIVE_INFINITY } = {}) => tx((): StoreContents => {
      const first = <T>(rows: Iterable<T>): T[] => [...rows].sort((a, b) => (a as { id: number }).id - (b as { id: number }).id).slice(0, limit)
      return {
        batches: first(batches).map((b): BatchRecord => ({
          id: String(b.id), registrationId: b.registrationId, idempotencyKey: b.idempotencyKey, batchId: b.batchId, requestId: b.requestId,
          senderId: b.senderId, metadataJson: b.metadata, scheduledAt: b.scheduledAt, receivedAt: b.receivedAt, accepted: b.accepted, rejected: b.rejected,
          traceId: b.traceId
        })),
        messages: first(messages.values()).map((m): MessageRecord => ({
          id: String(m.id), batchId: String(m.batch.id), reference: m.reference, mobileNumber: m.mobileNumber, givenNumber: m.givenNumber,
          customerId: m.customerId, text: m.text, state: m.state, attempts: m.attempts, nextAttemptAt: m.nextAttemptAt, leaseUntil: m.leaseUntil,
          leaseOwner: m.leaseOwner, providerMessageId: m.providerMessageId, finalOutcome: m.finalOutcome, lastError: m.lastError, createdAt: m.batch.receivedAt, updatedAt: m.updatedAt
        })),
        reports: first(reports.values()).map((r): ReportRecord => ({
          id: String(r.id), messageId: String(r.message.id), registrationId: r.registrationId, outcome: r.outcome, statusAt: r.statusAt,
          errorCode: r.errorCode, errorDetails: r.errorDetails, state: r.state, attempts: r.attempts, nextAttemptAt: r.nextAttemptAt,
          // A claimed row's lease ends when it is due again.
          leaseUntil: r.state === 'sending' ? r.nextAttemptAt : null, leaseOwner: r.leaseOwner, lastError: r.lastError, createdAt: r.createdAt
        })),
        incoming: first(incoming.values()).map((r): IncomingRecord => ({
          id: String(r.id), registrationId: r.registrationId, from: r.from, to: r.to, text: r.text, sentAt: r.sentAt, state: r.state, attempts: r.attempts,
          nextAttemptAt: r.nextAttemptAt, leaseUntil: r.state === 'sending' ? r.nextAttemptAt : null, leaseOwner: r.leaseOwner, lastError: r.lastError,
          createdAt: r.createdAt
        })),
        webhookEvents: [...events.values()].slice(0, limit).map((e): WebhookEventRecord => ({ ...e, messageId: e.messageId === null ? null : String(e.messageId) })),
        recipients: [...recipients].flatMap(([msisdn, known]) => [...known].map(([registrationId, lastSentAt]): RecipientRecord => ({ msisdn, registrationId, lastSentAt }))).slice(0, limit),
        instances: [...db.instances].sort(byKey).slice(0, limit)
          .map(([id, i]): InstanceRecord => ({ id, startedAt: i.startedAt, heartbeatAt: i.heartbeatAt }))
      }
    }),
    stats: () => tx((): StoreStats => ({
      batches: batches.length,
      messages: countStates(['queued', 'sending', 'submitted', 'final', 'failed'] as const, messages.values()),
      reports: countStates(OUTBOX_STATES, reports.values()),
      incoming: countStates(OUTBOX_STATES, incoming.values())
    })),

    close: async () => {
      if (closed) return
      closed = true
      for (const stop of [...listening]) await stop()
    }
  }
}
