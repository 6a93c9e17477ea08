import { createHash } from 'node:crypto'
import pg from 'pg'
import type { WorkKind } from './store.js'

const KINDS: readonly WorkKind[] = ['messages', 'reports', 'replies']

/** The first reconnection waits this long, each next one twice as long, up to the cap. */
const RECONNECT_FIRST_MS = 100
const RECONNECT_CAP_MS = 10_000

/** How long the listener's connection is idle before TCP starts probing it. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000

/** PostgreSQL's longest identifier, in bytes: a longer channel name is refused by pg_notify. */
const MAX_CHANNEL_BYTES = 63

export interface PgWorkSignalOptions {
  /** The database's URL: the listener's connection is opened with it, as the pool's are. */
  url: string
  /** The schema the store's tables are in: each schema has its own channel. */
  schema: string
  /** This store's instance: its own signals are not heard. */
  instanceId: string
  /** How long a connection attempt of the listener may take. */
  connectionTimeoutMs: number
  /** Told of each failure of a listener's connection (it reconnects). */
  onConnectionError?: (err: Error) => void
}

/**
 * The channel of the stores whose tables are in `schema`: stores on other schemas of the same
 * database (another deployment, another test) never hear each other. A name too long to be an
 * identifier is shortened with a hash of the schema.
 */
export function workChannel (schema: string): string {
  const channel = `bridge_work_${schema}`
  if (Buffer.byteLength(channel) <= MAX_CHANNEL_BYTES) return channel
  return `bridge_work_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`
}

/** What a signal carries: its sender and the kinds of work it tells about. */
interface Signal { from: string; kinds: WorkKind[] }

/** A notification's payload as a signal, or undefined when it is not one (malformed, or from another program). */
export function parseSignal (payload: string | undefined): Signal | undefined {
  if (payload === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object') return undefined
  const { from, kinds } = parsed as { from?: unknown; kinds?: unknown }
  if (typeof from !== 'string' || !Array.isArray(kinds)) return undefined
  return { from, kinds: kinds.filter((kind): kind is WorkKind => KINDS.includes(kind as WorkKind)) }
}

/**
 * Wake-ups across the processes on one PostgreSQL database (LISTEN/NOTIFY), per schema. A signal
 * is one statement on the pool; each listener has a connection of its own (a LISTEN holds its
 * connection for as long as it listens), which it opens again with capped exponential backoff
 * whenever it fails. Signals are hints: what is sent while a listener reconnects is not heard.
 */
export function createPgWorkSignals (pool: pg.Pool, options: PgWorkSignalOptions) {
  const channel = workChannel(options.schema)
  const listening = new Set<() => Promise<void>>()

  return {
    /** Tells the other stores on this schema that work of these kinds became due. */
    async signalWork (kinds: readonly WorkKind[]): Promise<void> {
      if (kinds.length === 0) return
      await pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ from: options.instanceId, kinds })])
    },

    /**
     * Calls `listener` for each kind of every signal another instance sends, until the function it
     * resolves to is called. Resolves once its first connection attempt is over, listening or not
     * (it keeps trying): a listener is a hint, and the loops' idle polls cover its absence.
     */
    async listenForWork (listener: (kind: WorkKind) => void): Promise<() => Promise<void>> {
      const { started, stop } = listen(channel, options, listener)
      const stopOnce = async (): Promise<void> => {
        listening.delete(stopOnce)
        await stop()
      }
      // Known from the start: a store closing while it connects stops it too.
      listening.add(stopOnce)
      await started
      return stopOnce
    },

    /** Stops every listener still listening (the store is closing). */
    async stopListening (): Promise<void> {
      await Promise.all([...listening].map((stop) => stop()))
    }
  }
}

/**
 * One listener: its connection, opened again after each failure, until stopped. `started`
 * resolves when its first connection attempt is over, whatever its outcome.
 */
function listen (channel: string, options: PgWorkSignalOptions, listener: (kind: WorkKind) => void): { started: Promise<void>; stop: () => Promise<void> } {
  let stopped = false
  let client: pg.Client | undefined
  let attempt: Promise<void> | undefined
  let reconnect: NodeJS.Timeout | undefined
  let delayMs = RECONNECT_FIRST_MS

  const scheduleReconnect = (): void => {
    if (stopped || reconnect !== undefined) return
    reconnect = setTimeout(() => {
      reconnect = undefined
      attempt = connect()
    }, delayMs)
    // A pending reconnection never keeps the process alive.
    reconnect.unref()
    delayMs = Math.min(delayMs * 2, RECONNECT_CAP_MS)
  }

  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectionTimeoutMs,
      // It is idle most of the time: probing it early finds a silently lost connection sooner.
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS
    })
    client = c
    let lost = false
    /** This connection is done for (an error, or its end while listening): reported once, and another one follows. */
    const onLost = (err?: Error): void => {
      if (lost) return
      lost = true
      if (client === c) client = undefined
      if (stopped) return
      if (err !== undefined) options.onConnectionError?.(err)
      c.end().catch(() => {})
      scheduleReconnect()
    }
    // An unhandled `error` event would end the process.
    c.on('error', onLost)
    c.on('end', () => onLost(new Error('the work listener\'s connection ended')))
    c.on('notification', (message) => {
      if (stopped || message.channel !== channel) return
      const signal = parseSignal(message.payload)
      if (signal === undefined || signal.from === options.instanceId) return
      for (const kind of signal.kinds) listener(kind)
    })
    try {
      await c.connect()
      // Named after the instance, so that an operator (or a test) can find this connection.
      await c.query('SELECT set_config(\'application_name\', $1, false)', [`bridge-listen-${options.instanceId}`])
      await c.query(`LISTEN ${c.escapeIdentifier(channel)}`)
      delayMs = RECONNECT_FIRST_MS
    } catch (err) {
      onLost(err as Error)
    }
  }

  attempt = connect()
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    clearTimeout(reconnect)
    reconnect = undefined
    const c = client
    client = undefined
    // Ending a connection still being opened abandons it: its attempt then settles at once.
    await c?.end().catch(() => {})
    await attempt
  }
  return { started: attempt, stop }
}
