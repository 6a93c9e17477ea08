import type pg from 'pg'
import { BATCH_TRACE_SCHEMA, OPERATOR_SCHEMA, REPLICAS_SCHEMA, claimsSchema, type Migration } from './migrations.js'

/**
 * The PostgreSQL schema, versioned like the SQLite one: applied in order at open, each in its
 * own transaction, append only (a released migration is never edited). Version 1 is the whole
 * schema of SQLite's versions 1-3, with the same tables and columns; ids are identities, times
 * BIGINT epoch milliseconds. Indexes that SQLite reads by `state` are partial here (each covers
 * only the rows its queries look for), and the foreign keys have the indexes PostgreSQL needs to
 * check a deletion without scanning the referring table. `seq` keeps the order in which rows
 * without an id (remembered events, the recipient memory) were stored.
 */
export const PG_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'batches, messages, both outboxes, webhook events, the recipient memory',
    sql: `
      CREATE TABLE batches (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
        body_hash TEXT,
        UNIQUE (registration_id, idempotency_key)
      );
      CREATE INDEX batches_received ON batches (received_at);

      CREATE TABLE messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        batch_id BIGINT NOT NULL REFERENCES batches (id),
        reference TEXT NOT NULL UNIQUE,
        mobile_number TEXT NOT NULL,
        given_number TEXT,
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
      CREATE INDEX messages_batch ON messages (batch_id);
      CREATE INDEX messages_queued ON messages (next_attempt_at, id) WHERE state = 'queued';
      CREATE INDEX messages_leased ON messages (next_attempt_at, id) WHERE state = 'sending';
      CREATE INDEX messages_submitted ON messages (updated_at) WHERE state = 'submitted';
      CREATE INDEX messages_ended ON messages (updated_at) WHERE state IN ('final', 'failed');
      CREATE INDEX messages_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

      CREATE TABLE reports (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id BIGINT NOT NULL REFERENCES messages (id),
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
      CREATE INDEX reports_message ON reports (message_id);
      CREATE INDEX reports_pending ON reports (next_attempt_at, id) WHERE state = 'pending';
      CREATE INDEX reports_leased ON reports (next_attempt_at, id) WHERE state = 'sending';
      CREATE INDEX reports_done ON reports (created_at) WHERE state = 'done';

      CREATE TABLE incoming_messages (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
      CREATE INDEX incoming_pending ON incoming_messages (next_attempt_at, id) WHERE state = 'pending';
      CREATE INDEX incoming_leased ON incoming_messages (next_attempt_at, id) WHERE state = 'sending';
      CREATE INDEX incoming_done ON incoming_messages (created_at) WHERE state = 'done';

      CREATE TABLE webhook_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        event_id TEXT PRIMARY KEY,
        event_type TEXT NOT NULL,
        message_id BIGINT REFERENCES messages (id),
        status TEXT,
        status_at BIGINT,
        error_code TEXT,
        error_details TEXT,
        raw TEXT,
        received_at BIGINT NOT NULL
      );
      CREATE INDEX webhook_events_message ON webhook_events (message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX webhook_events_received ON webhook_events (received_at);

      CREATE TABLE recipient_registrations (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        msisdn TEXT NOT NULL,
        registration_id TEXT NOT NULL,
        last_sent_at BIGINT NOT NULL,
        PRIMARY KEY (msisdn, registration_id)
      );
      CREATE INDEX recipient_registrations_age ON recipient_registrations (last_sent_at);
    `
  }
]

PG_MIGRATIONS.push({
  version: 2,
  name: 'replicas: lease owners, instances and their heartbeats, job leases',
  // SQLite's version 4.
  sql: REPLICAS_SCHEMA
})

PG_MIGRATIONS.push({
  version: 3,
  name: 'messages know their registration: claims take turns across registrations',
  // SQLite's version 5; the due indexes lead with the registration, as a claim serves one.
  sql: `
    ALTER TABLE messages ADD COLUMN registration_id TEXT;
    UPDATE messages m SET registration_id = b.registration_id FROM batches b WHERE b.id = m.batch_id;
    ALTER TABLE messages ALTER COLUMN registration_id SET NOT NULL;
    DROP INDEX messages_queued;
    DROP INDEX messages_leased;
    CREATE INDEX messages_queued ON messages (registration_id, next_attempt_at, id) WHERE state = 'queued';
    CREATE INDEX messages_leased ON messages (registration_id, next_attempt_at, id) WHERE state = 'sending';
  `
})

PG_MIGRATIONS.push({
  version: 4,
  name: 'claims: one row per outgoing request instead of a lease on every message',
  // SQLite's version 6; messages are never leased any more.
  sql: `${claimsSchema('BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', 'BIGINT[]')}
    DROP INDEX messages_leased;
  `
})

PG_MIGRATIONS.push({
  version: 5,
  name: 'registrations an operator paused, and suppression lists',
  // SQLite's version 7.
  sql: OPERATOR_SCHEMA
})

PG_MIGRATIONS.push({
  version: 6,
  name: 'batches remember the X-Request-Id that brought them',
  // SQLite's version 8.
  sql: BATCH_TRACE_SCHEMA
})

PG_MIGRATIONS.push({
  version: 7,
  name: 'the due index holds each id as an expression that the primary key cannot serve',
  // PostgreSQL only (see pg-relay.ts, DUE_ID): a claim's reads of the queue must use this index,
  // whatever the statistics say; its id column as `id + 0` makes the primary key unusable for them.
  sql: `
    CREATE INDEX messages_due ON messages (registration_id, next_attempt_at, (id + 0)) WHERE state = 'queued';
    DROP INDEX messages_queued;
  `
})

/** The one advisory lock key under which every process of the bridge migrates (any schema of the database). */
export const PG_MIGRATION_LOCK_KEY = 7_305_196_211

/**
 * Brings the schema up to date: under a session advisory lock, so that processes opening together
 * migrate one after another and each migration is applied once; its record (`schema_migrations`)
 * is written in the migration's own transaction.
 */
export async function applyPgMigrations (pool: pg.Pool, migrations: Migration[] = PG_MIGRATIONS): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PG_MIGRATION_LOCK_KEY])
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)')
      const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version))
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (applied.has(migration.version)) continue
        await client.query('BEGIN')
        try {
          await client.query(migration.sql)
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()])
          await client.query('COMMIT')
        } catch (err) {
          await client.query('ROLLBACK')
          throw err
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_MIGRATION_LOCK_KEY])
    }
    client.release()
  } catch (err) {
    // Closing the connection releases its advisory lock, whatever state it was left in.
    client.release(err as Error)
    throw err
  }
}
