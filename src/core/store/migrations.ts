/**
 * Versioned schema changes, applied in order at startup, each in its own transaction.
 * Append only: a released migration is never edited. The SQL stays portable (no
 * SQLite-only types) so that a PostgreSQL adapter can reuse the same schema.
 */
export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'batches, messages and the delivery-report outbox',
    sql: `
      CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        registration_id TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        metadata TEXT NOT NULL,
        scheduled_at BIGINT NOT NULL,
        accepted_count INTEGER NOT NULL,
        rejected_count INTEGER NOT NULL,
        received_at BIGINT NOT NULL,
        UNIQUE (registration_id, idempotency_key)
      );

      CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches (id),
        reference TEXT NOT NULL UNIQUE,
        mobile_number TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_until BIGINT,
        provider_message_id TEXT,
        final_outcome TEXT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX messages_due ON messages (state, next_attempt_at);

      CREATE TABLE reports (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        registration_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status_at BIGINT NOT NULL,
        error_code TEXT,
        error_details TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_until BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX reports_due ON reports (state, next_attempt_at);
    `
  }
]

MIGRATIONS.push({
  version: 2,
  name: 'webhook events (replay memory and status history), incoming messages, provider id lookup',
  sql: `
    CREATE TABLE webhook_events (
      event_id TEXT PRIMARY KEY,
      event_type TEXT NOT NULL,
      message_id INTEGER REFERENCES messages (id),
      status TEXT,
      status_at BIGINT,
      error_code TEXT,
      error_details TEXT,
      received_at BIGINT NOT NULL
    );
    CREATE INDEX webhook_events_message ON webhook_events (message_id);
    CREATE INDEX messages_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

    CREATE TABLE incoming_messages (
      id INTEGER PRIMARY KEY,
      registration_id TEXT NOT NULL,
      from_number TEXT NOT NULL,
      to_address TEXT NOT NULL,
      body TEXT NOT NULL,
      sent_at BIGINT NOT NULL,
      state TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      lease_until BIGINT,
      last_error TEXT,
      created_at BIGINT NOT NULL
    );
    CREATE INDEX incoming_due ON incoming_messages (state, next_attempt_at);
  `
})

MIGRATIONS.push({
  version: 3,
  name: 'body hashes, numbers as given, raw unusable events, recipient memory, submitted-message sweep',
  sql: `
    -- A known idempotency key with another body is a conflict: answered as a duplicate, counted.
    ALTER TABLE batches ADD COLUMN body_hash TEXT;
    -- mobileNumber exactly as Optimove sent it: delivery reports echo it.
    ALTER TABLE messages ADD COLUMN given_number TEXT;
    -- An event we could not use is kept whole, so that it can be looked at and replayed.
    ALTER TABLE webhook_events ADD COLUMN raw TEXT;
    -- Which registrations texted a number, kept longer than messages: replies find their tenant.
    CREATE TABLE recipient_registrations (
      msisdn TEXT NOT NULL,
      registration_id TEXT NOT NULL,
      last_sent_at BIGINT NOT NULL,
      PRIMARY KEY (msisdn, registration_id)
    );
    CREATE INDEX recipient_registrations_age ON recipient_registrations (last_sent_at);
    -- Messages still waiting for their final status, oldest first.
    CREATE INDEX messages_submitted ON messages (updated_at) WHERE state = 'submitted';
  `
})

/** The replicas' schema: the same SQL on SQLite (version 4) and PostgreSQL (version 2). */
export const REPLICAS_SCHEMA = `
    -- The instance whose claim a lease is: a dead instance's claims are found and taken over.
    ALTER TABLE messages ADD COLUMN lease_owner TEXT;
    ALTER TABLE reports ADD COLUMN lease_owner TEXT;
    ALTER TABLE incoming_messages ADD COLUMN lease_owner TEXT;
    CREATE INDEX messages_lease_owner ON messages (lease_owner) WHERE state = 'sending';
    CREATE INDEX reports_lease_owner ON reports (lease_owner) WHERE state = 'sending';
    CREATE INDEX incoming_lease_owner ON incoming_messages (lease_owner) WHERE state = 'sending';
    -- The live instances (replicas), each with its last heartbeat.
    CREATE TABLE instances (
      id TEXT PRIMARY KEY,
      started_at BIGINT NOT NULL,
      heartbeat_at BIGINT NOT NULL
    );
    -- Jobs that run on one replica at a time (pruning, the final-status sweep): who holds each, until when.
    CREATE TABLE job_leases (
      job TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      lease_until BIGINT NOT NULL
    );
  `

MIGRATIONS.push({
  version: 4,
  name: 'replicas: lease owners, instances and their heartbeats, job leases',
  sql: REPLICAS_SCHEMA
})

MIGRATIONS.push({
  version: 5,
  name: 'messages know their registration: claims take turns across registrations',
  sql: `
    ALTER TABLE messages ADD COLUMN registration_id TEXT NOT NULL DEFAULT '';
    UPDATE messages SET registration_id = (SELECT registration_id FROM batches WHERE batches.id = messages.batch_id);
    -- Due messages per registration, earliest first: a claim serves one registration at a time.
    DROP INDEX messages_due;
    CREATE INDEX messages_due ON messages (state, registration_id, next_attempt_at);
  `
})

/** The claims' schema: the same SQL on SQLite (version 6) and PostgreSQL (version 4), but for the id column and the lists' type. */
export const claimsSchema = (idColumn: string, listType: string): string => `
    -- One row per outgoing request: its messages (not yet settled, with their attempt counts
    -- before it), owner and lease. Messages stay queued while claimed (see request-claims.ts).
    CREATE TABLE claims (
      id ${idColumn},
      registration_id TEXT NOT NULL,
      owner TEXT NOT NULL,
      claimed_at BIGINT NOT NULL,
      lease_until BIGINT NOT NULL,
      first_id BIGINT NOT NULL,
      last_id BIGINT NOT NULL,
      segments TEXT NOT NULL,
      message_ids ${listType} NOT NULL,
      attempts ${listType} NOT NULL,
      open INTEGER NOT NULL
    );
    CREATE INDEX claims_registration ON claims (registration_id, lease_until);
    CREATE INDEX claims_span ON claims (first_id, last_id);
    CREATE INDEX claims_owner ON claims (owner);
    -- Leased messages are queued again, due when their lease ends, their attempt counted.
    UPDATE messages SET state = 'queued', lease_until = NULL WHERE state = 'sending';
    DROP INDEX messages_lease_owner;
  `

MIGRATIONS.push({
  version: 6,
  name: 'claims: one row per outgoing request instead of a lease on every message',
  sql: claimsSchema('INTEGER PRIMARY KEY', 'TEXT')
})

/**
 * What operators and customers decide: registrations an operator paused (no claim takes their
 * messages), and each registration's suppression list (numbers that replied STOP, or that an
 * operator added). The same SQL on SQLite (version 7) and PostgreSQL (version 5).
 */
export const OPERATOR_SCHEMA = `
    CREATE TABLE paused_registrations (
      registration_id TEXT PRIMARY KEY,
      paused_at BIGINT NOT NULL
    );
    CREATE TABLE suppressions (
      registration_id TEXT NOT NULL,
      msisdn TEXT NOT NULL,
      suppressed_at BIGINT NOT NULL,
      -- stop (a STOP-type reply) or operator.
      source TEXT NOT NULL,
      PRIMARY KEY (registration_id, msisdn)
    );
    CREATE INDEX suppressions_msisdn ON suppressions (msisdn);
  `

MIGRATIONS.push({
  version: 7,
  name: 'registrations an operator paused, and suppression lists',
  sql: OPERATOR_SCHEMA
})

/** Batches remember the X-Request-Id of the request that brought them: the same SQL on SQLite (version 8) and PostgreSQL (version 6). */
export const BATCH_TRACE_SCHEMA = 'ALTER TABLE batches ADD COLUMN trace_id TEXT;'

MIGRATIONS.push({
  version: 8,
  name: 'batches remember the X-Request-Id that brought them',
  sql: BATCH_TRACE_SCHEMA
})
