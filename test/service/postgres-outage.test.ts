import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { startService } from '../../src/service.js'
import { createLogger } from '../../src/logger.js'
import { CAMPAIGN_SEND_PATH } from '../../src/config.js'
import { campaignBody, startStack, until } from '../helper.js'
import { pgTestSetting, schemaUrlFor } from '../core/store/pg-test-database.js'
import { ownPostgres, ownPostgresSetting } from './own-postgres.js'
import { delay } from '../../src/lib/timers.js'

// PostgreSQL out of reach under load, then back: the replicas answer 503 meanwhile (never 500,
// never a hang), reconnect by themselves, and lose nothing they acknowledged. Two outages: the
// network to the shared test database cut (a TCP proxy of the test's own drops every connection
// and refuses new ones), and a server of the test's own stopped for ten seconds (`pg_ctl stop`:
// its sessions ended, connections refused) and started again.

const setting = pgTestSetting()
const ownSetting = await ownPostgresSetting()

/** A TCP proxy to `target`; `down()` closes it and every connection through it, `up()` listens again on the same port. */
async function tcpProxy (target: { host: string; port: number }) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const up = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    port = (server.address() as { port: number }).port
  }
  const down = async (): Promise<void> => {
    const closed = new Promise((resolve) => server!.close(resolve))
    for (const s of sockets) s.destroy()
    await closed
  }
  await up()
  return { port: () => port, up, down }
}

/** A database the replicas use, and how the test takes it away and brings it back. */
interface Outage { url: string; down: () => Promise<void>; up: () => Promise<void>; lastsMs: number }

/**
 * Under load, the database goes away for `lastsMs` and comes back: every replica answers a
 * campaign 503 and is not ready meanwhile, is ready and accepts campaigns again afterwards without
 * a restart, and every acknowledged campaign is stored whole and reaches GatewayAPI.
 */
async function underOutage (t: Test, outage: Outage): Promise<void> {
  const { optimove, gateway, service: first, config } = await startStack(t, {
    DATABASE_URL: outage.url,
    DATABASE_POOL_SIZE: '4',
    SEND_BATCH_SIZE: '100',
    SEND_CONCURRENCY: '2',
    // Messages whose settlement was lost with the database go out again at their lease's end.
    SEND_LEASE_SECONDS: '4',
    SEND_TIMEOUT_MS: '2000'
  })
  const second = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => second.stop())
  const replicas = [first, second]
  gateway.latencyMs = 10
  const send = (replica: typeof first, requestId: string) => optimove.sendCampaign(campaignBody({ recipients: 2000, requestId }), { url: `${replica.url}${CAMPAIGN_SEND_PATH}` })

  const acknowledged: string[] = []
  for (const [i, r] of replicas.entries()) {
    t.equal((await send(r, `before-${i}`)).status, 200, `accepted by replica ${i} before the outage`)
    acknowledged.push(`before-${i}`)
  }
  await until(gateway, 'accepted', () => gateway.accepted.length >= 500)

  await outage.down()
  const downAt = performance.now()
  for (const [i, r] of replicas.entries()) {
    const res = await send(r, `during-${i}`)
    t.equal(res.status, 503, `replica ${i} answers a campaign 503 while the database is out of reach`)
    t.equal((await fetch(`${r.adminUrl}/ready`)).status, 503, `replica ${i} is not ready`)
  }
  // The outage lasts as long as the scenario says, whatever the checks above took.
  await delay(outage.lastsMs - (performance.now() - downAt))
  for (const [i, r] of replicas.entries()) {
    t.equal((await send(r, `late-${i}`)).status, 503, `replica ${i} still answers 503 at the end of the outage`)
  }

  await outage.up()
  for (const [i, r] of replicas.entries()) {
    t.equal((await fetch(`${r.adminUrl}/ready`)).status, 200, `replica ${i} is ready again`)
    const res = await send(r, `after-${i}`)
    t.equal(res.status, 200, `replica ${i} accepts campaigns again without a restart`)
    acknowledged.push(`after-${i}`)
  }
  const stored = await first.store.inspect()
  const acknowledgedRefs = stored.messages.filter((m) => acknowledged.some((id) => stored.batches.find((b) => b.id === m.batchId)?.requestId === id)).map((m) => m.reference)
  t.equal(acknowledgedRefs.length, 2000 * acknowledged.length, 'every acknowledged campaign stored whole')
  await until(gateway, 'accepted', () => {
    const counts = gateway.referenceCounts()
    return acknowledgedRefs.every((ref) => counts.has(ref))
  })
  t.pass('every message of every acknowledged campaign reached GatewayAPI')
}

t.test('the network to PostgreSQL cut under load: both replicas answer 503 meanwhile, reconnect by themselves, and nothing acknowledged is lost', 'skip' in setting ? { skip: setting.skip } : {}, async (t) => {
  if (!('url' in setting)) throw new Error('missing' in setting ? setting.missing : setting.skip)
  const direct = new URL(await schemaUrlFor(setting.url, t.testdir()))
  const proxy = await tcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) })
  t.teardown(() => proxy.down().catch(() => {}))
  const viaProxy = new URL(direct.href)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port())
  await underOutage(t, { url: viaProxy.href, down: proxy.down, up: proxy.up, lastsMs: 0 })
})

t.test('PostgreSQL stopped for 10 s under load and started again: both replicas answer 503 meanwhile, reconnect by themselves, and nothing acknowledged is lost', 'skip' in ownSetting ? { skip: ownSetting.skip } : {}, async (t) => {
  if (!('bin' in ownSetting)) throw new Error('missing' in ownSetting ? ownSetting.missing : ownSetting.skip)
  const server = await ownPostgres(t, ownSetting.bin)
  await underOutage(t, { url: server.url, down: server.stop, up: server.start, lastsMs: 10_000 })
})
