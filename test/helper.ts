import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { buildAdminApp, buildApp } from '../src/app.js'
import { createMetrics } from '../src/metrics.js'
import { once } from 'node:events'
import { CAMPAIGN_SEND_PATH, parseConfig, type Config } from '../src/config.js'
import { startService } from '../src/service.js'
import { SimGatewayApi, type SimGatewayApiOptions } from '../src/sim/gatewayapi.js'
import { SimOptimove } from '../src/sim/optimove.js'
import { freeLoopbackPort } from '../src/sim/http-server.js'
import { GATEWAYAPI_EVENTS_PATH } from '../src/gatewayapi/events-route.js'
import { createLogger } from '../src/logger.js'
import { openStore } from '../src/core/store/open-store.js'
import { openSqliteStore } from '../src/core/store/sqlite-store.js'
import type { ClaimedMessage, RelayStore, Store, StoreContents } from '../src/core/store/store.js'
import type { Clock } from '../src/lib/clock.js'
import { signHubSignature } from '../src/lib/hmac-signature.js'
import { gatewayApiContract } from './contract/gatewayapi-contract.js'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))

/**
 * This test process's own folder for what tests leave unnamed (databases, services' working
 * folders): never the checkout's `./data` or `.env`. Made at first use, removed at exit.
 */
let ownFolder: string | undefined
function testFolder (): string {
  if (ownFolder === undefined) {
    const folder = mkdtempSync(join(tmpdir(), 'bridge-test-'))
    process.once('exit', () => rmSync(folder, { recursive: true, force: true }))
    ownFolder = folder
  }
  return ownFolder
}
let databases = 0

/**
 * A complete, valid environment with recognisable fake secrets, and a database of its own in
 * the test process's folder (a new SQLite file for each environment, unless one is given).
 */
export function testEnv (overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    DATABASE_URL: `sqlite:${join(testFolder(), `bridge-${++databases}.db`)}`,
    HOST: '127.0.0.1',
    PORT: '0',
    ADMIN_PORT: '0',
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    OPTIMOVE_BASE_URL: 'http://127.0.0.1:1',
    OPTIMOVE_APP_API_KEY: 'secret-app-api-key-1',
    OPTIMOVE_SHARED_SECRET: 'secret-shared-secret-2',
    AGGREGATOR_API_KEY: 'secret-aggregator-key-3',
    SENDER_ID: 'Brand',
    GATEWAYAPI_TOKEN: 'secret-gatewayapi-token-4',
    GATEWAYAPI_WEBHOOK_SECRET: 'secret-webhook-secret-5',
    HANDSHAKE_BASE_DELAY_MS: '1',
    HANDSHAKE_MAX_DELAY_MS: '5',
    ...overrides
  }
}

export function testConfig (overrides: Record<string, string | undefined> = {}): Config {
  return parseConfig(testEnv(overrides))
}

/** A writable that keeps every log line, for assertions on what was logged. */
export function logCapture (): { stream: Writable; lines: () => string[]; text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({
    write (chunk, _enc, cb) {
      chunks.push(String(chunk))
      cb()
    }
  })
  const text = (): string => chunks.join('')
  return { stream, text, lines: () => text().split('\n').filter((l) => l !== '') }
}

/** An app on a real SQLite file in the test's own directory, closed at teardown. */
export function buildTestApp (t: Test, options: { config?: Config; store?: Store; clock?: Clock; dbPath?: string } = {}) {
  const config = options.config ?? testConfig()
  const dbPath = options.dbPath ?? `${t.testdir()}/bridge.db`
  const store = options.store ?? openSqliteStore({ path: dbPath })
  const logger = createLogger('silent')
  const metrics = createMetrics()
  const app = buildApp(config, { store, logger, metrics, ...(options.clock ? { clock: options.clock } : {}) })
  // The admin listener's app, with the same metrics: /metrics, /ready, /health with details.
  const admin = buildAdminApp(config, { store, logger, metrics })
  t.teardown(async () => {
    await app.close()
    await admin.close()
    await store.close()
  })
  return { app, admin, store, config, dbPath }
}

/**
 * Claims everything due at `now` as a dispatcher would over several claims: each claim serves
 * one registration, the next after the previous claim's. Every claim, in turn.
 */
export async function claimsInTurn (store: RelayStore, now: number, limit: number, leaseMs: number): Promise<ClaimedMessage[][]> {
  const claims: ClaimedMessage[][] = []
  for (let claim = await store.claimDue(now, limit, leaseMs); claim.length > 0; claim = await store.claimDue(now, limit, leaseMs, { after: claim[0]!.registrationId })) {
    claims.push(claim)
  }
  return claims
}

/** Everything due at `now`, claimed in turn (see claimsInTurn); the messages in the order they were stored. */
export async function claimAllDue (store: RelayStore, now: number, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
  return (await claimsInTurn(store, now, limit, leaseMs)).flat().sort((a, b) => Number(a.id) - Number(b.id))
}

export interface CampaignOptions {
  recipients?: number
  batchId?: string
  requestId?: string
  scheduledTime?: number
}

/** A campaign body as Optimove sends it, with `n` personalised recipients. */
export function campaignBody (options: CampaignOptions = {}): Record<string, unknown> {
  const n = options.recipients ?? 3
  return {
    batchId: options.batchId ?? 'batch-1',
    metadata: {
      appId: 1,
      brandId: 'brand-7',
      campaignId: 'campaign-42',
      campaignType: 1,
      channelId: 505,
      engagementId: 'engagement-9',
      isHashed: false,
      scheduledTime: options.scheduledTime ?? 1700000000000,
      tenantId: 1001
    },
    recipients: Array.from({ length: n }, (_, i) => ({
      message: `Hi customer ${i}, 20% off everything until Sunday. Reply STOP to opt out.`,
      mobileNumber: `+45 ${String(20000000 + i)}`,
      customerId: `customer-${i}`
    })),
    requestId: options.requestId ?? 'request-1',
    senderId: 'Brand'
  }
}

/** Headers Optimove would send with this exact body. */
export function campaignHeaders (raw: string, config: Config, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-api-key': config.registrations[0]!.aggregatorApiKey,
    'x-hub-signature': signHubSignature(raw, config.registrations[0]!.sharedSecret),
    ...overrides
  }
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined))
}

/**
 * What the store in a database file holds, read through the store's own interface (its
 * inspection role), as an operator's tool would: never with SQL, so a test reads the same
 * whatever the adapter. Safe while a service (in this process or another) uses the file.
 */
export async function inspectStoreAt (path: string): Promise<StoreContents> {
  // A database URL (postgres://…) or a SQLite file's path.
  const store = await openStore(path)
  try {
    return await store.inspect()
  } finally {
    await store.close()
  }
}

export interface ServiceProcess {
  child: ChildProcess
  /** Every JSON log line seen so far. */
  logs: Array<Record<string, any>>
  stderr: () => string
  /** Resolves with the first log line that matches. */
  waitForLog(match: (line: Record<string, any>) => boolean): Promise<Record<string, any>>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Spawns the real service (`src/main.ts`) as a child process with this environment (plus
 * PATH and the parent watch's variable), in a process group of its own (see spawnInGroup).
 * It imports the parent watch (test/fixtures/exit-with-parent.mjs), so that it ends itself
 * should this process end without killing it (tap's timeout signal, a SIGKILL).
 */
export function spawnService (env: Record<string, string | undefined>): ServiceProcess {
  // Its working folder is its own, so that no `.env` or `./data` of the checkout reaches it.
  const child = spawnInGroup(process.execPath, ['--import', TSX_LOADER, '--import', PARENT_WATCH_MODULE, join(ROOT, 'src/main.ts')], {
    cwd: mkdtempSync(join(testFolder(), 'service-')),
    env: { PATH: process.env.PATH, [PARENT_PID_VARIABLE]: String(process.pid), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, any>> = []
  const waiters: Array<{ match: (line: Record<string, any>) => boolean; resolve: (line: Record<string, any>) => void }> = []
  let stderr = ''
  child.stderr!.on('data', (chunk) => { stderr += String(chunk) })
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, any>
    try {
      line = JSON.parse(text)
    } catch {
      return
    }
    logs.push(line)
    for (const waiter of [...waiters]) {
      if (waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(line)
      }
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog: (match) => {
      const seen = logs.find(match)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ match, resolve })
        exited.then(({ code, signal }) => reject(new Error(`service exited (${code ?? signal}) before the awaited log line; stderr: ${stderr}`)))
      })
    }
  }
}

/**
 * Runs the operator's CLI (`src/ops/cli.ts`, as `npm run ops --` runs its compiled form) in a
 * folder of its own with this environment, to its end; killed at teardown if it has not ended.
 */
export async function runOps (t: Test, args: readonly string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnInGroup(process.execPath, ['--import', TSX_LOADER, '--import', PARENT_WATCH_MODULE, join(ROOT, 'src/ops/cli.ts'), ...args], {
    cwd: mkdtempSync(join(testFolder(), 'ops-')),
    env: { PATH: process.env.PATH, [PARENT_PID_VARIABLE]: String(process.pid), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => killGroup(child))
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => { stdout += String(chunk) })
  child.stderr!.on('data', (chunk) => { stderr += String(chunk) })
  // 'close' comes after the output's end, 'exit' may come before it.
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

/**
 * The address of a spawned service's admin listener (on any free port: a port chosen in advance
 * could be taken by another process before a restarted service binds it again), from the line
 * its listener logs once it listens (at LOG_LEVEL info or finer).
 */
export async function adminUrlOf (service: ServiceProcess): Promise<string> {
  const line = await service.waitForLog((l) => l.listener === 'admin' && typeof l.msg === 'string' && l.msg.startsWith('Server listening at '))
  return (line.msg as string).slice('Server listening at '.length)
}

/** A TCP port that was free a moment ago, for a child process that must know its URL in advance. */
export const freePort = freeLoopbackPort

/**
 * Resolves once `check` holds, re-checking each time `emitter` emits `event` (never on a timer).
 * It listens before each check, so that an event emitted while an asynchronous check runs (one
 * that reads the store) is not missed: it only causes another check.
 */
export async function until (emitter: NodeJS.EventEmitter, event: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    const listening = new AbortController()
    const next = once(emitter, event, { signal: listening.signal })
    next.catch(() => {}) // abandoned (aborted) when the check holds or throws
    let holds: boolean
    try {
      holds = await check()
    } catch (err) {
      listening.abort()
      throw err
    }
    if (holds) {
      listening.abort()
      return
    }
    await next
  }
}

/**
 * A simulated GatewayAPI (not yet started) that holds every request it receives and every event
 * it builds to GatewayAPI's OpenAPI document (test/contract): a request outside it is answered
 * 422 `contract_violation`, and the test fails at teardown with every violation recorded, so
 * that no test passes on traffic the real GatewayAPI would refuse. `contract: false` is only for
 * a test that sends something outside the contract on purpose (say why at the call).
 */
export function simGatewayApi (t: Test, options: SimGatewayApiOptions, check: { contract?: boolean } = {}): SimGatewayApi {
  if (check.contract === false) return new SimGatewayApi(options)
  const sim = new SimGatewayApi({ contract: gatewayApiContract(), ...options })
  // Registered as the simulator is made, so it runs after the teardowns registered later (its closing among them).
  t.teardown(() => {
    const found = sim.contractViolations
    if (found.length === 0) return
    const more = found.length > 20 ? [`… and ${found.length - 20} more`] : []
    // threw(), not throw: a throwing teardown would skip the teardowns registered before it.
    t.threw(Object.assign(new Error(`${found.length} violation(s) of GatewayAPI's OpenAPI document, the first: ${found[0]}`), { violations: [...found.slice(0, 20), ...more] }))
  })
  return sim
}

/** Both simulated peers and the service in this process, on loopback, torn down after the test. */
export async function startStack (t: Test, overrides: Record<string, string | undefined> = {}, deps: { logStream?: Writable; clock?: Clock } = {}) {
  const env = testEnv()
  const optimove = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  const gateway = await simGatewayApi(t, { token: env.GATEWAYAPI_TOKEN! }).start()
  t.teardown(async () => {
    await gateway.close()
    await optimove.close()
  })
  const dbPath = `${t.testdir()}/bridge.db`
  const config = testConfig({
    OPTIMOVE_BASE_URL: optimove.baseUrl,
    GATEWAYAPI_BASE_URL: gateway.url,
    DATABASE_URL: `sqlite:${dbPath}`,
    SEND_RETRY_BASE_MS: '5',
    SEND_RETRY_MAX_MS: '50',
    SEND_IDLE_POLL_MS: '50',
    REPORT_RETRY_BASE_MS: '5',
    REPORT_RETRY_MAX_MS: '50',
    REPORT_IDLE_POLL_MS: '50',
    ...overrides
  })
  const service = await startService(config, { logger: createLogger(deps.logStream ? 'info' : 'silent', deps.logStream), ...(deps.clock ? { clock: deps.clock } : {}) })
  t.teardown(() => service.stop())
  gateway.options.webhook = { url: `${service.url}${GATEWAYAPI_EVENTS_PATH}`, secret: config.gatewayapi.webhookSecret }
  await service.handshakes
  const campaignUrl = `${service.url}${CAMPAIGN_SEND_PATH}`
  const sendCampaign = (body: unknown) => optimove.sendCampaign(body, { url: campaignUrl })
  return { optimove, gateway, service, config, dbPath, sendCampaign }
}

/**
 * Both simulated peers in this process, and the environment for the real service as a child
 * process on a port known in advance (GatewayAPI's webhook points at it). Peers close at teardown.
 */
export async function childStack (t: Test, overrides: Record<string, string | undefined> = {}) {
  const env = testEnv()
  const port = await freePort()
  const optimove = await new SimOptimove({ appApiKey: env.OPTIMOVE_APP_API_KEY!, sharedSecret: env.OPTIMOVE_SHARED_SECRET! }).start()
  const gateway = await simGatewayApi(t, { token: env.GATEWAYAPI_TOKEN!, webhook: { url: `http://127.0.0.1:${port}${GATEWAYAPI_EVENTS_PATH}`, secret: env.GATEWAYAPI_WEBHOOK_SECRET! } }).start()
  t.teardown(async () => {
    await gateway.close()
    await optimove.close()
  })
  const dbPath = `${t.testdir()}/bridge.db`
  const serviceEnv = testEnv({
    LOG_LEVEL: 'info',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    OPTIMOVE_BASE_URL: optimove.baseUrl,
    GATEWAYAPI_BASE_URL: gateway.url,
    DATABASE_URL: `sqlite:${dbPath}`,
    ...overrides
  })
  /**
   * Spawns the service (with these variables on top, e.g. another PORT for a second replica; its admin listener on any free port, see adminUrlOf); a
   * teardown kills its process group if the test has not, also when the test failed or timed out.
   */
  const spawn = (extra: Record<string, string> = {}): ServiceProcess => {
    const service = spawnService({ ...serviceEnv, ...extra })
    t.teardown(() => killGroup(service.child))
    return service
  }
  return { optimove, gateway, dbPath, spawn, url: `http://127.0.0.1:${port}` }
}

/** A test app (see buildTestApp) listening on 127.0.0.1 on a free port, for clients that need a real socket. */
export async function listenTestApp (t: Test, options: Parameters<typeof buildTestApp>[1] = {}) {
  const built = buildTestApp(t, options)
  await built.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = built.app.server.address() as { port: number }
  return { ...built, port, url: `http://127.0.0.1:${port}` }
}

/**
 * One registration of `startRegistrationsStack`: its own simulated Optimove and aggregator key,
 * and with `ownGatewayApi` a GatewayAPI account of its own (its own simulated host, token and webhook secret).
 */
export interface TenantSpec { name: string; senderId: string; inboundTo: string; ownGatewayApi?: boolean }

/**
 * Several registrations in one service (a registrations file), each with its own simulated
 * Optimove, and one simulated GatewayAPI whose webhook points at the service. Torn down after the test.
 * `send(tenant, body)` posts a campaign as that tenant's Optimove does.
 */
export async function startRegistrationsStack (t: Test, specs: TenantSpec[], overrides: Record<string, string | undefined> = {}) {
  const env = testEnv()
  const gateway = await simGatewayApi(t, { token: env.GATEWAYAPI_TOKEN! }).start()
  const tenants = await Promise.all(specs.map(async (spec) => ({
    ...spec,
    key: `aggregator-key-${spec.name}`,
    sim: await new SimOptimove({ appApiKey: `app-key-${spec.name}`, sharedSecret: `shared-secret-${spec.name}` }).start(),
    gateway: spec.ownGatewayApi === true ? await simGatewayApi(t, { token: `gatewayapi-token-${spec.name}` }).start() : gateway,
    webhookSecret: spec.ownGatewayApi === true ? `webhook-secret-${spec.name}` : env.GATEWAYAPI_WEBHOOK_SECRET!
  })))
  t.teardown(async () => {
    await gateway.close()
    for (const tenant of tenants) {
      await tenant.sim.close()
      if (tenant.gateway !== gateway) await tenant.gateway.close()
    }
  })
  const dir = t.testdir()
  const { writeFileSync } = await import('node:fs')
  writeFileSync(`${dir}/registrations.json`, JSON.stringify(tenants.map((x) => ({
    name: x.name, optimoveBaseUrl: x.sim.baseUrl, appApiKey: x.sim.options.appApiKey, sharedSecret: x.sim.options.sharedSecret,
    aggregatorApiKey: x.key, senderId: x.senderId, inboundTo: x.inboundTo,
    ...(x.gateway === gateway ? {} : { gatewayapiBaseUrl: x.gateway.url, gatewayapiToken: x.gateway.options.token, gatewayapiWebhookSecret: x.webhookSecret })
  }))))
  const dbPath = `${dir}/bridge.db`
  const config = parseConfig(testEnv({
    OPTIMOVE_BASE_URL: undefined, OPTIMOVE_APP_API_KEY: undefined, OPTIMOVE_SHARED_SECRET: undefined, AGGREGATOR_API_KEY: undefined, SENDER_ID: undefined,
    REGISTRATIONS_FILE: `${dir}/registrations.json`, GATEWAYAPI_BASE_URL: gateway.url, DATABASE_URL: `sqlite:${dbPath}`,
    SEND_IDLE_POLL_MS: '50', REPORT_IDLE_POLL_MS: '50', REPORT_RETRY_BASE_MS: '5', REPORT_RETRY_MAX_MS: '50',
    ...overrides
  }))
  const service = await startService(config, { logger: createLogger('silent') })
  t.teardown(() => service.stop())
  for (const tenant of tenants) tenant.gateway.options.webhook = { url: `${service.url}${GATEWAYAPI_EVENTS_PATH}`, secret: tenant.webhookSecret }
  await service.handshakes
  const campaignUrl = `${service.url}${CAMPAIGN_SEND_PATH}`
  const send = (tenant: typeof tenants[number], body: unknown) => tenant.sim.sendCampaign(body, { url: campaignUrl, apiKey: tenant.key })
  return { tenants, gateway, service, config, dbPath, send }
}

/** The environment variable that tells a spawned service which process is its parent, for the parent watch. */
const PARENT_PID_VARIABLE = 'TEST_PARENT_PID'

/** The module a spawned service imports (`--import`) to end itself once its parent process is gone. */
const PARENT_WATCH_MODULE = new URL('fixtures/exit-with-parent.mjs', import.meta.url).href
/** tsx's loader by its URL, as `--import tsx` finds it from the checkout: a child may run in another folder. */
const TSX_LOADER = import.meta.resolve('tsx')

/** Process groups of children still running (by their leader's pid): what the exit hook kills. */
const liveChildGroups = new Set<number>()
let exitHookInstalled = false

/**
 * Spawns a child as the leader of a process group of its own (`detached`), so that the child
 * and anything it starts can be killed together (killGroup). Until it exits, an exit hook of
 * this process kills its group: a test that exits without its teardowns (process.exit, an
 * uncaught error) leaves nothing running. A signal that kills this process (tap's timeout,
 * SIGKILL, a terminal's Ctrl-C, which no longer reaches a detached child) runs no hook: a child
 * that must not outlive this process watches it too (see spawnService).
 */
export function spawnInGroup (command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true })
  const pid = child.pid
  if (pid === undefined) return child // not started: its 'error' event says why
  liveChildGroups.add(pid)
  child.once('exit', () => liveChildGroups.delete(pid))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', killLiveChildGroups)
  }
  return child
}

/**
 * Kills a child's whole process group with SIGKILL unless the child has exited, and resolves
 * once it has. Only while the leader has not been reaped is its pid surely still its group's:
 * after that the number may belong to someone else, so an exited child's group is left alone.
 */
export async function killGroup (child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  killProcessGroup(child.pid)
  await exited
}

/** SIGKILL to a process group; one already gone is no error. */
function killProcessGroup (leader: number): void {
  try {
    process.kill(-leader, 'SIGKILL')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** The exit hook: synchronous, as an exit hook must be; every group whose leader still runs, each tried whatever the others do. */
function killLiveChildGroups (): void {
  for (const leader of liveChildGroups) {
    try {
      killProcessGroup(leader)
    } catch {
      // Not ours to kill (EPERM): nothing more an exiting process can do about it.
    }
  }
}

/** Collects the TimeoutOverflowWarnings Node emits while the test runs (a setTimeout beyond 2^31 − 1 ms, which Node fires after 1 ms). */
export function overflowWarnings (t: Test): Error[] {
  const seen: Error[] = []
  const listener = (warning: Error): void => { if (warning.name === 'TimeoutOverflowWarning') seen.push(warning) }
  process.on('warning', listener)
  t.teardown(() => { process.off('warning', listener) })
  return seen
}
