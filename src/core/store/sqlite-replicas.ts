import type Database from 'better-sqlite3'
import type { TakenOver } from './store.js'

/** The outboxes, whose rows are leased (see sqlite-lease.ts): a dead instance's claims are in these and in `claims`. */
const LEASED_TABLES = ['reports', 'incoming_messages'] as const

/**
 * The replica role of the SQLite store, for the instance `instanceId`: its heartbeat (which takes
 * over the claims of the instances that stopped beating), its retirement (its jobs freed), and the leases of jobs
 * that run on one replica at a time. Each function is one transaction.
 */
export function createReplicaQueries (db: Database.Database, instanceId: string) {
  const beat = db.prepare(`
    INSERT INTO instances (id, started_at, heartbeat_at) VALUES (@id, @now, @now)
    ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`)
  const dead = db.prepare<[{ id: string; deadBefore: number }], { id: string; heartbeat_at: number }>(
    'SELECT id, heartbeat_at FROM instances WHERE id <> @id AND heartbeat_at < @deadBefore ORDER BY id')
  // Its leases end now: the claim order takes them first, as expired leases, with their attempt counts as they were.
  const releases = LEASED_TABLES.map((table) => db.prepare(
    `UPDATE ${table} SET next_attempt_at = @now, lease_until = @now WHERE state = 'sending' AND lease_owner = @owner`))
  // Its claims of messages end now, their messages not settled still held by them until the next claim.
  const claimed = db.prepare<[{ owner: string }], { n: number | null }>('SELECT SUM(open) AS n FROM claims WHERE owner = @owner')
  const endClaims = db.prepare('UPDATE claims SET lease_until = @now WHERE owner = @owner')
  const forget = db.prepare('DELETE FROM instances WHERE id = ?')
  const freeJobs = db.prepare('DELETE FROM job_leases WHERE owner = ?')
  const retire = db.transaction(() => {
    freeJobs.run(instanceId)
    forget.run(instanceId)
  })
  const takeJob = db.prepare<[{ job: string; owner: string; now: number; until: number }], { owner: string }>(`
    INSERT INTO job_leases (job, owner, lease_until) VALUES (@job, @owner, @until)
    ON CONFLICT (job) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
    WHERE job_leases.owner = excluded.owner OR job_leases.lease_until <= @now
    RETURNING owner`)

  /** This instance's beat first, so that its own lateness never counts against it; then the dead ones taken over. */
  const heartbeat = db.transaction((now: number, deadBefore: number): TakenOver[] => {
    beat.run({ id: instanceId, now })
    return dead.all({ id: instanceId, deadBefore }).map((instance) => {
      let claims = claimed.get({ owner: instance.id })!.n ?? 0
      endClaims.run({ now, owner: instance.id })
      for (const release of releases) claims += release.run({ now, owner: instance.id }).changes
      forget.run(instance.id)
      return { instanceId: instance.id, lastHeartbeatAt: instance.heartbeat_at, claims }
    })
  })

  return {
    heartbeat: (now: number, deadBefore: number) => heartbeat.immediate(now, deadBefore),
    retireInstance: (): void => { retire.immediate() },
    leaseJob: (job: string, now: number, until: number): boolean => takeJob.get({ job, owner: instanceId, now, until }) !== undefined
  }
}
