import type { FinalOutcome } from '../outcomes.js'

/**
 * The store port: everything the core persists, by role, so that each part of the service
 * depends on its own role only and another database can follow the SQLite adapter and pass the
 * same contract tests. Plain data in and out; times are epoch milliseconds; ids are strings.
 * Every method is one transaction: it happens whole or not at all.
 */
export type Store = IntakeStore & RelayStore & EventStore & OutboxStore & MaintenanceStore & InspectionStore & OperatorStore & ReplicaStore & WorkSignalStore

/** Campaign intake: a batch and its messages, stored once. */
export interface IntakeStore {
  /**
   * Stores a campaign batch and all its messages in one durable transaction.
   * Idempotent per (registrationId, idempotencyKey): when the key is already stored, or one of
   * the batch's `legacyIdempotencyKeys` is stored for the same `requestId` and `batchId`,
   * nothing is written and the first acceptance's counts come back with `duplicate: true`;
   * `conflict` is then true when both bodies have a hash and the hashes differ (a changed body
   * under a known key: still nobody is texted twice).
   * Messages with a `failure` are stored as `failed`, and their delivery report is queued
   * in the outbox within the same transaction.
   */
  acceptCampaign(batch: NewBatch, messages: NewMessage[]): Promise<AcceptResult>
}

/** The relay to GatewayAPI: leases of due messages and what each answer did to them. */
export interface RelayStore {
  /**
   * Leases up to `limit` messages of one registration that are due at `now`: `sending` ones
   * whose lease expired (their process died) first, then `queued` ones whose next attempt time
   * has come, each earliest first. The registration is the first in id order after
   * `scope.after` (wrapping around) that has due messages and is not capped at 0, so that claims
   * given the previous claim's registration take turns across registrations (a fair share: one
   * registration's backlog never holds another's messages back). Each message becomes `sending`,
   * its attempt count goes up by one and its lease runs to `now + leaseMs`; while the lease runs
   * no other claim returns it. (The SQL adapters store the claim as one row, its messages left
   * `queued` until settled: see request-claims.ts.)
   */
  claimDue(now: number, limit: number, leaseMs: number, scope?: ClaimScope): Promise<ClaimedMessage[]>
  /** Marks leased messages as accepted by the provider, with the provider's id (or null); each only under its own claim. */
  markSubmitted(results: SubmittedMessage[], now: number): Promise<void>
  /**
   * Puts leased messages back in the queue, each due at its own time, each only under its own claim. With
   * `refundAttempt`, the claim's attempt does not count (the request was never tried).
   */
  reschedule(items: RescheduledMessage[], error: string, now: number, options?: { refundAttempt?: boolean }): Promise<void>
  /**
   * Ends messages as `failed` with an outcome and reason, and queues each one's delivery
   * report in the outbox within the same transaction. Messages already final are untouched.
   */
  fail(items: FailedMessage[], now: number): Promise<void>
  /**
   * The earliest time a queued or leased message becomes due, or undefined when none waits;
   * messages of the `excluded` registrations (held back by their send rate) left out, and, when
   * `only` is given, those of any registration not in it (another account's dispatcher sends them).
   */
  nextDueAt(excluded?: readonly string[], only?: readonly string[]): Promise<number | undefined>
}

/** Which registration a claim serves, and how many messages each may have. */
export interface ClaimScope {
  /** The registration the previous claim served: this claim serves the next one with due messages. Absent: the first. */
  after?: string
  /** Registrations allowed fewer than `limit` messages (their send rate): at most that many; 0 leaves them out. */
  caps?: Readonly<Record<string, number>>
  /** When given, the only registrations the claim may serve (those of one provider account). */
  only?: readonly string[]
}

/** GatewayAPI's webhook: statuses and replies, recorded once; where a reply belongs. */
export interface EventStore {
  /**
   * Records a webhook event once: its id is remembered, so a replay answers `duplicate` and
   * changes nothing. A status event is added to its message's history (found by reference,
   * else by provider id); when it carries a final outcome and the message is not yet final or
   * failed, the message becomes `final` and its delivery report is queued, in the same
   * transaction. An inbound message is queued for Optimove once per route (one row for each
   * registration it belongs to, all in the same transaction). An unusable event is kept whole
   * (`raw`, with the reason) so that it can be looked at and replayed. Durable when it resolves.
   */
  recordWebhookEvent(event: WebhookEvent): Promise<WebhookEventResult>
  /**
   * The registrations that texted this number, the latest first (empty when none did): where a
   * customer's reply belongs. Remembered apart from the messages, so it outlives their pruning.
   */
  registrationsOfRecipient(msisdn: string): Promise<string[]>
}

/** The outboxes to Optimove (delivery reports, customer replies): leased rows and their settlements. */
export interface OutboxStore {
  /**
   * Leases due rows of an outbox (`sending` ones whose lease expired first, then `pending`
   * ones whose time has come, oldest first); each attempt is counted. At most `limit` rows, and
   * no more than `maxBytes` of their large texts (always at least one row): a batch's metadata
   * counts once, since the reports of one batch share one copy of it (the same string).
   * Rows of the `excluded` registrations (held back by their peer) are left where they are.
   */
  claimReports(now: number, limit: number, leaseMs: number, maxBytes?: number, excluded?: readonly string[]): Promise<PendingReport[]>
  claimIncoming(now: number, limit: number, leaseMs: number, maxBytes?: number, excluded?: readonly string[]): Promise<PendingIncoming[]>
  /** Ends leased outbox rows: `done` (delivered), back to `pending` at a time, or `parked` for good (a parked row's `nextAttemptAt` is then when it was parked: `now`). */
  settleOutbox(outbox: OutboxName, settlement: OutboxSettlement, now: number): Promise<void>
}

/** Housekeeping and health: pruning, the final-status sweep, figures, liveness, closing. */
export interface MaintenanceStore {
  /**
   * Deletes, in short chunks, what is older than `cutoff` and no longer needed: remembered
   * webhook events, delivered outbox rows, ended messages whose reports were all delivered, and
   * batches left empty. A message still owed a report (pending, sending or parked) is kept.
   * The number→registration memory is kept longer: until `recipientCutoff` (default `cutoff`).
   */
  prune(cutoff: number, recipientCutoff?: number): Promise<PruneResult>
  /**
   * Ends the messages GatewayAPI took (`submitted`) before their registration's cutoff and never
   * gave a final status: each becomes `final` with the outcome `no-final-status` and its report
   * is queued, in the same transaction. Messages of registrations not listed use `otherwise`.
   * Works in short chunks; returns how many messages it ended.
   */
  endUnconfirmed(cutoffs: ReadonlyArray<{ registrationId: string; submittedBefore: number }>, otherwise: number, now: number): Promise<number>
  /** Counts for `/ready`, metrics and progress. */
  stats(): Promise<StoreStats>
  /** Resolves when the database answers a trivial query; rejects otherwise. */
  ping(): Promise<void>
  /** Releases the database; no method may be called afterwards. */
  close(): Promise<void>
}

/**
 * Replicas on one database: each process is an instance (the store's `instanceId`, given when it
 * is opened), alive as long as it beats. Every claim (of messages, reports, replies) records its
 * instance as the lease's owner, so that the claims of an instance that died (a SIGKILL, a lost
 * host) can be taken over as soon as its heartbeat is old, instead of when its leases end.
 */
export interface ReplicaStore {
  /** This process's name among the replicas: the owner its claims record. */
  readonly instanceId: string
  /**
   * Records that this instance is alive at `now` (registering it at its first beat), then takes
   * over the claims of every other instance whose last heartbeat is before `deadBefore`: each of
   * their leased rows is due at once (its lease ends at `now`; its attempt count stays, so that
   * the dead owner's late answers are fenced off by the next claim), and the instance is
   * forgotten. Returns the instances taken over, with the claims each held.
   */
  heartbeat(now: number, deadBefore: number): Promise<TakenOver[]>
  /**
   * Forgets this instance (a graceful stop, once its loops have handed back their claims), and
   * frees the jobs it holds, so that another replica runs them without waiting for the lease.
   */
  retireInstance(): Promise<void>
  /**
   * Takes or renews the lease of a job that must run on one replica at a time (pruning, the
   * final-status sweep): true when this instance now holds it until `until` (it was free, its
   * lease had ended by `now`, or it was already ours), false while another instance holds it.
   */
  leaseJob(job: string, now: number, until: number): Promise<boolean>
}

export interface TakenOver {
  instanceId: string
  lastHeartbeatAt: number
  /** Its rows that were leased (messages, reports and replies), now due again. */
  claims: number
}

/** What a commit made due, told across processes: messages to send, reports and replies to deliver. */
export type WorkKind = 'messages' | 'reports' | 'replies'

/**
 * Wake-ups across the processes on one database (PostgreSQL's LISTEN/NOTIFY). Signals are hints:
 * one lost (a dropped connection) only delays work until the loops' idle poll. A store that
 * cannot signal (SQLite) sends nothing and never calls its listeners.
 */
export interface WorkSignalStore {
  /** Tells the other processes on this database that work of these kinds became due. */
  signalWork(kinds: readonly WorkKind[]): Promise<void>
  /**
   * Calls `listener` for each kind another process signalled (never for this process's own
   * signals), until the function it resolves to is called. Keeps listening across dropped
   * connections (reconnecting with backoff).
   */
  listenForWork(listener: (kind: WorkKind) => void): Promise<() => Promise<void>>
}

/** What an operator (and a test) reads of the store: its rows in our words, never its SQL. */
export interface InspectionStore {
  /** Every kind of row, each in the order it was stored; at most `limit` of each (default all). */
  inspect(options?: { limit?: number }): Promise<StoreContents>
  /** The outboxes' parked rows (given up on, waiting for an operator), each with its last error, oldest first; at most `limit` of each. */
  parked(options?: { limit?: number }): Promise<ParkedRows>
}

/**
 * What an operator does to the store (the ops CLI and the admin API), each one transaction. A
 * message is "in flight" while a claim of the relay holds it: its request may be on the wire, so
 * no operator's action ends it.
 */
export interface OperatorStore {
  /** The batches stored under this key (our id, its messages' reference prefix, Optimove's `batchId` or `requestId`), newest first, with counts. */
  lookupBatches(key: string, limit: number): Promise<BatchLookup[]>
  /**
   * The messages with this reference, GatewayAPI message id, or number (MSISDN digits, as sent),
   * newest first, each with its status history and its delivery reports.
   */
  lookupMessages(key: string, limit: number): Promise<MessageLookup[]>
  /**
   * Parked reports and replies (those of `registrationId` only, and parked at or after `since`,
   * when given) become `pending` and due at `now`, their attempts counted from 0 again; their last
   * error stays until their next attempt. Rows not parked are untouched, so running it twice
   * delivers nothing twice. Returns how many rows of each outbox it requeued.
   */
  requeueParked(filter: { registrationId?: string; since?: number }, now: number): Promise<{ reports: number; incoming: number }>
  /**
   * Ends the batch's (our id) messages still waiting to be sent as `failed` with the outcome
   * `cancelled`, each with its delivery report queued; messages in flight or already sent are
   * left as they are, and counted. Undefined when no batch has that id.
   */
  cancelBatch(batchId: string, now: number): Promise<CancelResult | undefined>
  /**
   * Holds back (`paused: true`) or lets go the sending of one registration's messages, on every
   * replica: no claim takes them while it is paused (claims in flight finish). Idempotent.
   * Returns whether it was paused before.
   */
  setRegistrationPaused(registrationId: string, paused: boolean, now: number): Promise<boolean>
  /** The paused registrations, in id order, with when each was paused. */
  pausedRegistrations(): Promise<Array<{ registrationId: string; pausedAt: number }>>
  /**
   * Erases a number (MSISDN digits) from every table (GDPR): its messages' number and text and
   * the number as given become empty, the replies it sent are deleted (a reply is nothing but its
   * number and text) and so are the memory of who texted it and its suppression list entries; an unusable event kept whole that
   * holds the number has it blanked out. Reports already owed are still delivered, without it.
   * Returns how many rows of each kind it changed.
   */
  erasePhoneNumber(msisdn: string, now: number): Promise<EraseResult>
  /**
   * Puts a number (MSISDN digits) on a registration's suppression list (`suppressed: true`) or
   * takes it off: a claim marks a message to a suppressed number `optedOut` (see ClaimedMessage).
   * Idempotent; returns whether it was on the list before.
   */
  setSuppressed(registrationId: string, msisdn: string, suppressed: boolean, now: number): Promise<boolean>
  /** The suppression lists (of one registration, when given), by registration then number; at most `limit` entries. */
  suppressions(filter: { registrationId?: string }, limit: number): Promise<Suppression[]>
}

export interface Suppression {
  registrationId: string
  msisdn: string
  suppressedAt: number
  /** A customer's STOP-type reply (`stop`) or an operator (`operator`). */
  source: 'stop' | 'operator'
}

export interface BatchLookup {
  batch: BatchRecord
  /** Its messages by state, as `stats()` counts them (claimed ones are `sending`). */
  messages: Record<MessageState, number>
  /** Its messages' delivery reports by state. */
  reports: Record<OutboxState, number>
}

export interface MessageLookup {
  message: MessageRecord
  registrationId: string
  /** Optimove's ids of its batch. */
  batch: { batchId: string; requestId: string }
  /** The status events GatewayAPI sent for it, in the order received. */
  history: Array<Pick<WebhookEventRecord, 'eventId' | 'status' | 'statusAt' | 'errorCode' | 'errorDetails' | 'receivedAt'>>
  /** Its delivery reports to Optimove (one, unless an older version queued more). */
  reports: ReportRecord[]
}

export interface CancelResult {
  /** Messages ended as `failed/cancelled`, each with its report queued. */
  cancelled: number
  /** Messages a claim holds (their request may be on the wire): left to finish. */
  inFlight: number
  /** Messages already sent or ended before the cancel. */
  alreadyDone: number
}

export interface EraseResult {
  messages: number
  replies: number
  recipients: number
  webhookEvents: number
  /** Its entries on suppression lists: an erased number is not remembered even as one that opted out. */
  suppressions: number
}

export interface ParkedRows {
  reports: ReportRecord[]
  incoming: IncomingRecord[]
}

export interface StoreContents {
  batches: BatchRecord[]
  messages: MessageRecord[]
  /** The delivery-report outbox. */
  reports: ReportRecord[]
  /** The outbox of customer replies: one row per registration a reply goes to. */
  incoming: IncomingRecord[]
  /** The webhook events remembered (replay memory, status history, unusable events kept whole). */
  webhookEvents: WebhookEventRecord[]
  /** Which registrations texted a number, and when last (replies find their tenant by it). */
  recipients: RecipientRecord[]
  /** The live instances (replicas) and their last heartbeats. */
  instances: InstanceRecord[]
}

export interface InstanceRecord {
  id: string
  startedAt: number
  heartbeatAt: number
}

/** A stored batch: what intake was given (its key as stored), and what it made of the recipients. */
export interface BatchRecord extends Omit<NewBatch, 'legacyIdempotencyKeys' | 'bodyHash' | 'traceId'> {
  id: string
  /** The X-Request-Id of the request that brought it; null for batches stored before it was kept. */
  traceId: string | null
  accepted: number
  rejected: number
}

export interface MessageRecord {
  id: string
  /** The `id` of its batch's record. */
  batchId: string
  reference: string
  /** The number as sent to GatewayAPI (digits), and as Optimove gave it when that differs. */
  mobileNumber: string
  givenNumber: string | null
  customerId: string
  text: string
  state: MessageState
  attempts: number
  nextAttemptAt: number
  leaseUntil: number | null
  /** The instance whose claim the lease is (see ReplicaStore); null when never claimed. */
  leaseOwner: string | null
  providerMessageId: string | null
  finalOutcome: FinalOutcome | null
  lastError: string | null
  createdAt: number
  updatedAt: number
}

/** What every outbox row has: its registration, and where it stands in its delivery to Optimove. */
export interface OutboxRecord {
  id: string
  registrationId: string
  state: OutboxState
  attempts: number
  nextAttemptAt: number
  leaseUntil: number | null
  /** The instance whose claim the lease is (see ReplicaStore); null when never claimed. */
  leaseOwner: string | null
  lastError: string | null
  createdAt: number
}

export interface ReportRecord extends OutboxRecord {
  messageId: string
  outcome: FinalOutcome
  statusAt: number
  errorCode: string | null
  errorDetails: string | null
}

export interface IncomingRecord extends OutboxRecord {
  from: string
  to: string
  text: string
  sentAt: number
}

export interface WebhookEventRecord {
  eventId: string
  eventType: string
  /** The message a status event was about, when it was found. */
  messageId: string | null
  status: string | null
  statusAt: number | null
  errorCode: string | null
  /** A status's error details, or why an unusable event could not be used. */
  errorDetails: string | null
  /** An unusable event's body, byte for byte. */
  raw: string | null
  receivedAt: number
}

export interface RecipientRecord {
  msisdn: string
  registrationId: string
  lastSentAt: number
}

export type MessageState = 'queued' | 'sending' | 'submitted' | 'final' | 'failed'

export interface NewBatch {
  registrationId: string
  /** Unique per registration: a retried request carries the same key. */
  idempotencyKey: string
  /**
   * Keys the same batch was stored under by earlier versions (`request:<id>`, `batch:<id>`):
   * a retry after an upgrade must still be a duplicate. Such a row counts only when its
   * `requestId` and `batchId` are this batch's, since `request:<id>` covered every batch of a request.
   */
  legacyIdempotencyKeys?: string[]
  /** SHA-256 (hex) of the raw request body: a known key with another hash is a conflict. */
  bodyHash?: string
  batchId: string
  requestId: string
  senderId: string
  /** The campaign's metadata as JSON text, kept verbatim for the delivery reports. */
  metadataJson: string
  /** No message of the batch is sent before this time. */
  scheduledAt: number
  receivedAt: number
  /** The X-Request-Id of the HTTP request that brought it: the log lines of the work it causes (its requests to GatewayAPI) name it. */
  traceId?: string
}

export interface NewMessage {
  /** Normalised MSISDN digits, or the number as given when it is unusable. */
  mobileNumber: string
  /**
   * `mobileNumber` exactly as Optimove sent it, echoed in the delivery report; left out when
   * it is the same text as `mobileNumber` (the report then echoes that).
   */
  givenNumber?: string
  customerId: string
  text: string
  /** Set when the message can never be sent: it is stored failed with this outcome. */
  failure?: { outcome: FinalOutcome; reason: string }
}

export interface ClaimedMessage {
  id: string
  /** Our reference, sent to the provider and echoed in its status events. */
  reference: string
  registrationId: string
  senderId: string
  /** MSISDN digits. */
  msisdn: string
  text: string
  /** Attempts so far, this one included. */
  attempts: number
  /** When the message first became due (its batch's scheduled time): its age counts from here. */
  dueSince: number
  /** Set when the number is on its registration's suppression list: it must not be sent (the claim still holds it, to be failed). */
  optedOut?: true
  /** Its batch's `traceId`, when it has one. */
  traceId?: string
}

/**
 * The claim a settlement belongs to: its attempt number (`ClaimedMessage.attempts`). A message
 * is settled only while it is still `sending` under that very claim, so that a late answer to a
 * claim whose lease ran out (the message was claimed again meanwhile, by us or another
 * process) cannot overwrite the newer claim's state. Attempt numbers fence claims because a
 * message's count while `sending` only grows: a claim adds one, a refund takes back only the
 * refunding claim's own.
 */
export interface ClaimFence {
  id: string
  attempt: number
}

export interface SubmittedMessage extends ClaimFence {
  providerMessageId: string | null
}

export interface RescheduledMessage extends ClaimFence {
  at: number
}

export interface FailedMessage {
  id: string
  /** The claim it settles (see ClaimFence); absent, a message still queued may be failed too. */
  attempt?: number
  outcome: FinalOutcome
  /** Why, in words: the message's last error and its report's error details. */
  reason: string
  /** The provider's own error code when it gave one (GatewayAPI's `0x0215`): the report's error code. */
  errorCode?: string
}

export type WebhookEventResult = 'new' | 'duplicate' | 'unknown-message'

/** A delivery status of one message, as the core keeps it. */
export interface StatusEventFields {
  kind: 'status'
  reference: string | null
  providerMessageId: string | null
  status: string
  statusAt: number
  /** Set when the status ends the message. */
  outcome?: FinalOutcome
  error?: { code: string | null; details: string | null }
}

export type WebhookEvent = {
  eventId: string
  eventType: string
  receivedAt: number
} & (
  | StatusEventFields
  | {
    kind: 'inbound'
    /** Where the reply goes: one incoming row per registration, each with the `to` Optimove gets. */
    routes: Array<{ registrationId: string; to: string }>
    from: string
    text: string
    sentAt: number
    /**
     * A STOP-type reply (`stop`) puts `from` on the suppression list of each registration it
     * goes to, a START (`start`) takes it off, in the same transaction that queues the reply.
     */
    optOut?: 'stop' | 'start'
  }
  | {
    /** An event we cannot act on (unknown type, or a known type in a shape we cannot use). */
    kind: 'unusable'
    reason: string
    /** The whole body as received. */
    raw: string
  }
)

export type OutboxName = 'reports' | 'incoming'

export interface OutboxSettlement {
  done?: string[]
  retry?: Array<{ id: string; at: number }>
  parked?: string[]
  /** Why rows were retried or parked. */
  error?: string
}

/** A delivery report waiting to go, with everything its body needs. */
export interface PendingReport {
  id: string
  registrationId: string
  attempts: number
  outcome: FinalOutcome
  statusAt: number
  error: { code: string | null; details: string | null } | null
  reference: string
  providerMessageId: string | null
  mobileNumber: string
  customerId: string
  batchId: string
  requestId: string
  senderId: string
  /** The campaign's metadata exactly as stored at intake; one string shared by a claim's reports of a batch. */
  metadataJson: string
}

/** A customer's reply waiting to go to Optimove. */
export interface PendingIncoming {
  id: string
  registrationId: string
  attempts: number
  from: string
  to: string
  text: string
  sentAt: number
}

export interface AcceptResult {
  duplicate: boolean
  /** A duplicate whose body differs from the stored one's (both hashed): logged and counted, nothing sent. */
  conflict: boolean
  accepted: number
  rejected: number
}

export interface StoreStats {
  batches: number
  messages: Record<MessageState, number>
  reports: Record<OutboxState, number>
  incoming: Record<OutboxState, number>
}

export interface PruneResult {
  webhookEvents: number
  reports: number
  incoming: number
  messages: number
  batches: number
  recipients: number
}

export type OutboxState = 'pending' | 'sending' | 'done' | 'parked'
