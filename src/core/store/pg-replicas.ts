import type pg from 'pg'
import type { TakenOver } from './store.js'

/**
 * One heartbeat, one statement (so one transaction): this instance's beat (`$1`, at `$2`), and the
 * instances silent since before `$3` taken over. A dead instance is locked as it is chosen and one
 * another heartbeat holds is skipped (`SKIP LOCKED`): two replicas taking over at once never take
 * one instance twice, and an instance beating right now is not dead. Each of its claims of
 * messages and leased outbox rows is due at `$2` (its lease ends then: the claim order takes it
 * first, as an expired lease) with its attempt count as it was, and the instance is forgotten.
 */
const HEARTBEAT = `
  WITH me AS (
    INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
  ), dead AS MATERIALIZED (
    SELECT id, heartbeat_at FROM instances WHERE id <> $1 AND heartbeat_at < $3 FOR UPDATE SKIP LOCKED
  ), forgotten AS (
    DELETE FROM instances WHERE id IN (SELECT id FROM dead)
  ), claims_ended AS (
    UPDATE claims SET lease_until = $2 WHERE owner IN (SELECT id FROM dead)
    RETURNING owner, open
  ), reports_released AS (
    UPDATE reports SET next_attempt_at = $2, lease_until = $2 WHERE state = 'sending' AND lease_owner IN (SELECT id FROM dead)
    RETURNING lease_owner
  ), incoming_released AS (
    UPDATE incoming_messages SET next_attempt_at = $2, lease_until = $2 WHERE state = 'sending' AND lease_owner IN (SELECT id FROM dead)
    RETURNING lease_owner
  ), released AS (
    SELECT lease_owner, sum(n)::bigint AS claims FROM (
      SELECT owner AS lease_owner, open AS n FROM claims_ended
      UNION ALL SELECT lease_owner, 1 FROM reports_released
      UNION ALL SELECT lease_owner, 1 FROM incoming_released
    ) r GROUP BY lease_owner
  )
  SELECT d.id, d.heartbeat_at, COALESCE(r.claims, 0) AS claims
  FROM dead d LEFT JOIN released r ON r.lease_owner = d.id
  ORDER BY d.id COLLATE "C"`

const RETIRE = `
  WITH jobs AS (DELETE FROM job_leases WHERE owner = $1)
  DELETE FROM instances WHERE id = $1`

/** Free, ended by `$3`, or already this instance's (`$2`): the job's lease is taken or renewed until `$4`. */
const LEASE_JOB = `
  INSERT INTO job_leases (job, owner, lease_until) VALUES ($1, $2, $4)
  ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
  WHERE job_leases.owner = excluded.owner OR job_leases.lease_until <= $3
  RETURNING owner`

/**
 * The replica role of the PostgreSQL store, for the instance `instanceId`: its heartbeat (which
 * takes over the claims of the instances that stopped beating), its retirement (its jobs freed), and the leases of
 * jobs that run on one replica at a time. Each is one statement, safe with many processes.
 */
export function createPgReplicas (pool: pg.Pool, instanceId: string) {
  return {
    async heartbeat (now: number, deadBefore: number): Promise<TakenOver[]> {
      const { rows } = await pool.query<{ id: string; heartbeat_at: number; claims: number }>(HEARTBEAT, [instanceId, now, deadBefore])
      return rows.map((row) => ({ instanceId: row.id, lastHeartbeatAt: row.heartbeat_at, claims: row.claims }))
    },
    async retireInstance (): Promise<void> {
      await pool.query(RETIRE, [instanceId])
    },
    async leaseJob (job: string, now: number, until: number): Promise<boolean> {
      const { rows } = await pool.query(LEASE_JOB, [job, instanceId, now, until])
      return rows.length === 1
    }
  }
}
