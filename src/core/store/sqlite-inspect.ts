import type Database from 'better-sqlite3'
import type { ParkedRows, StoreContents } from './store.js'
import {
  batchRecord, incomingRecord, instanceRecord, messageRecord, recipientRecord, reportRecord, webhookEventRecord,
  type BatchRow, type IncomingRow, type InstanceRow, type MessageRow, type RecipientRow, type ReportRow, type WebhookEventRow
} from './stored-records.js'
import { withClaimsShown, type ClaimLease } from './request-claims.js'

/** A claim row of the SQLite store as the operator reads it (its member lists are JSON text). */
export interface SqliteClaimRow { id: number; owner: string; lease_until: number; message_ids: string; attempts: string }
export const CLAIM_COLUMNS = 'id, owner, lease_until, message_ids, attempts'

export function sqliteClaimLease (c: SqliteClaimRow): ClaimLease {
  return { claimId: c.id, owner: c.owner, leaseUntil: c.lease_until, ids: JSON.parse(c.message_ids), attempts: JSON.parse(c.attempts) }
}

/** The inspection role of the SQLite store: its rows, oldest first (the instances by id), in the port's words. */
export function createInspectQueries (db: Database.Database): (limit: number) => StoreContents {
  const batches = db.prepare<[number], BatchRow>('SELECT * FROM batches ORDER BY id LIMIT ?')
  const messages = db.prepare<[number], MessageRow>('SELECT * FROM messages ORDER BY id LIMIT ?')
  const reports = db.prepare<[number], ReportRow>('SELECT * FROM reports ORDER BY id LIMIT ?')
  const incoming = db.prepare<[number], IncomingRow>('SELECT * FROM incoming_messages ORDER BY id LIMIT ?')
  const events = db.prepare<[number], WebhookEventRow>('SELECT * FROM webhook_events ORDER BY rowid LIMIT ?')
  const recipients = db.prepare<[number], RecipientRow>('SELECT * FROM recipient_registrations ORDER BY rowid LIMIT ?')
  const claims = db.prepare<[], SqliteClaimRow>(`SELECT ${CLAIM_COLUMNS} FROM claims`)
  const leases = (): ClaimLease[] => claims.all().map(sqliteClaimLease)
  const instances = db.prepare<[number], InstanceRow>('SELECT id, started_at, heartbeat_at FROM instances ORDER BY id LIMIT ?')
  const read = db.transaction((limit: number): StoreContents => ({
    batches: batches.all(limit).map(batchRecord),
    messages: withClaimsShown(messages.all(limit), leases()).map(messageRecord),
    reports: reports.all(limit).map(reportRecord),
    incoming: incoming.all(limit).map(incomingRecord),
    webhookEvents: events.all(limit).map(webhookEventRecord),
    recipients: recipients.all(limit).map(recipientRecord),
    instances: instances.all(limit).map(instanceRecord)
  }))
  return (limit) => read(limit)
}

/** The parked rows of both outboxes, oldest first (the due index, by its state, finds them). */
export function createParkedQueries (db: Database.Database): (limit: number) => ParkedRows {
  const reports = db.prepare<[number], ReportRow>("SELECT * FROM reports WHERE state = 'parked' ORDER BY id LIMIT ?")
  const incoming = db.prepare<[number], IncomingRow>("SELECT * FROM incoming_messages WHERE state = 'parked' ORDER BY id LIMIT ?")
  const read = db.transaction((limit: number): ParkedRows => ({ reports: reports.all(limit).map(reportRecord), incoming: incoming.all(limit).map(incomingRecord) }))
  return (limit) => read(limit)
}
