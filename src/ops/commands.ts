import { z } from 'zod'
import type { Store, WorkKind } from '../core/store/store.js'

/**
 * One operator's command: what it does, the parameters it takes (named; on the command line the
 * first ones may also come in order, `positional`), and how it runs against the store (what it
 * prints). A command that changes the store is a POST on the admin API, and says what its commit
 * may have made due, so that the CLI can wake the replicas.
 */
export interface OpsCommand {
  summary: string
  params: z.ZodObject
  /** The parameters the command line takes in order, before any `--name value`. */
  positional: readonly string[]
  /** Whether it changes the store (a POST on the admin API). */
  changes: boolean
  /** The work its commit may make due: the CLI tells the replicas. */
  wakes: readonly WorkKind[]
  run (store: Store, params: Record<string, unknown>, now: number): Promise<unknown>
}

/** The most a lookup or a list prints. */
const LIST_CAP = 1000

const count = (otherwise: number) => z.coerce.number().int().min(1).max(LIST_CAP).default(otherwise)
  .meta({ description: `how many at most (1 to ${LIST_CAP})` })
const text = (description: string) => z.string().trim().min(1, 'must not be empty').max(200).meta({ description })
const registration = text('a registration\'s id (REGISTRATIONS)')

/** A time as an ISO-8601 text (`2026-11-30T10:00:00Z`) or epoch milliseconds (a JSON number too): epoch milliseconds. */
const time = z.union([z.string(), z.number()]).transform((v) => String(v).trim()).transform((given, ctx) => {
  const at = /^\d{10,15}$/.test(given) ? Number(given) : Date.parse(given)
  if (Number.isNaN(at)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time (2026-11-30T10:00:00Z) or epoch milliseconds' })
    return z.NEVER
  }
  return at
})

/** A phone number as an operator may write it (`+45 20 00 00 01`, `0045…`, `4520000001`, a JSON number too): the MSISDN digits we store. */
const phoneNumber = z.union([z.string(), z.number()]).transform((v) => String(v)).transform((given, ctx) => {
  const digits = given.replace(/[\s().-]/g, '').replace(/^(\+|00)/, '')
  if (!/^\d{4,20}$/.test(digits)) {
    ctx.addIssue({ code: 'custom', message: 'must be a phone number: digits, with an optional leading + or 00' })
    return z.NEVER
  }
  return digits
}).meta({ description: 'the phone number, in international form (+45 20 00 00 01, 4520000001)' })

/** A lookup key that may be a phone number: as digits when it is one, as given otherwise. */
const messageKey = (key: string): string => {
  const digits = phoneNumber.safeParse(key)
  return digits.success && /^[\s()+.\d-]+$/.test(key) ? digits.data : key
}

function command<S extends z.ZodObject> (spec: {
  summary: string; params: S; positional?: readonly string[]; changes?: boolean; wakes?: readonly WorkKind[]; run: (store: Store, params: z.output<S>, now: number) => Promise<unknown>
}): OpsCommand {
  return { positional: [], changes: false, wakes: [], ...spec, run: (store, params, now) => spec.run(store, params as z.output<S>, now) }
}

/** `suppress` (`suppressed`) or `unsuppress`: a number on or off a registration's suppression list. */
function suppressionCommand (suppressed: boolean, summary: string): OpsCommand {
  return command({
    summary,
    params: z.object({ registration, number: phoneNumber }),
    positional: ['registration', 'number'],
    changes: true,
    run: async (store, { registration, number }, now) => ({ registration, number, suppressed, wasSuppressed: await store.setSuppressed(registration, number, suppressed, now) })
  })
}

/**
 * The operator's commands, by name, each through the store's interfaces only, so that each works
 * on SQLite and PostgreSQL alike (the admin API runs the same ones).
 */
export const OPS_COMMANDS: Readonly<Record<string, OpsCommand>> = {
  status: command({
    summary: 'the queue\'s state: batches, messages by state (queued and sending are the dispatcher\'s queue), both outboxes by state (the same figures as /metrics)',
    params: z.object({}),
    run: (store) => store.stats()
  }),
  batch: command({
    summary: 'a batch by our id, its reference prefix, Optimove\'s batchId or requestId: its record and its messages and reports counted by state',
    params: z.object({ key: text('our id of the batch, its messages\' reference prefix, or Optimove\'s batchId or requestId'), limit: count(20) }),
    positional: ['key', 'limit'],
    run: (store, { key, limit }) => store.lookupBatches(key, limit)
  }),
  message: command({
    summary: 'messages by reference, GatewayAPI message id or phone number, newest first: each with its status history and its delivery reports',
    params: z.object({ key: text('a message\'s reference (our messageId), GatewayAPI\'s message id, or a phone number'), limit: count(20) }),
    positional: ['key', 'limit'],
    run: (store, { key, limit }) => store.lookupMessages(messageKey(key), limit)
  }),
  parked: command({
    summary: 'the parked delivery reports and replies (given up on: they wait for an operator), each with its last error, oldest first; at most 100 of each, or `parked <n>`',
    params: z.object({ limit: count(100) }),
    positional: ['limit'],
    run: (store, { limit }) => store.parked({ limit })
  }),
  requeue: command({
    summary: 'parked reports and replies go again (each once): all, or `--registration <id>`, or `--since <time>` (parked since then)',
    params: z.object({ registration: registration.optional(), since: time.optional().meta({ description: 'only rows parked at or after this time (ISO-8601 or epoch ms)' }) }),
    changes: true,
    wakes: ['reports', 'replies'],
    run: (store, { registration, since }, now) => store.requeueParked({
      ...(registration === undefined ? {} : { registrationId: registration }), ...(since === undefined ? {} : { since })
    }, now)
  }),
  cancel: command({
    summary: 'cancels a batch (our id, from `batch`): its messages not yet sent end as Failed/Cancelled, reported; those in flight finish',
    params: z.object({ batch: text('our id of the batch (the `id` that `batch` prints)') }),
    positional: ['batch'],
    changes: true,
    wakes: ['reports'],
    async run (store, { batch }, now) {
      const result = await store.cancelBatch(batch, now)
      if (result === undefined) throw new OpsNotFoundError(`no batch with our id ${batch} (look it up with: batch <key>)`)
      return result
    }
  }),
  pause: command({
    summary: 'stops sending a registration\'s messages, on every replica, until `resume` (reports and replies still go)',
    params: z.object({ registration }),
    positional: ['registration'],
    changes: true,
    run: async (store, { registration }, now) => ({ registration, paused: true, wasPaused: await store.setRegistrationPaused(registration, true, now) })
  }),
  resume: command({
    summary: 'sends a paused registration\'s messages again',
    params: z.object({ registration }),
    positional: ['registration'],
    changes: true,
    wakes: ['messages'],
    run: async (store, { registration }, now) => ({ registration, paused: false, wasPaused: await store.setRegistrationPaused(registration, false, now) })
  }),
  paused: command({
    summary: 'the paused registrations, with when each was paused',
    params: z.object({}),
    run: (store) => store.pausedRegistrations()
  }),
  suppressions: command({
    summary: 'the suppression lists: numbers that replied STOP (or an operator added), by registration; at most 1000, or `--limit <n>`',
    params: z.object({ registration: registration.optional(), limit: count(LIST_CAP) }),
    run: (store, { registration, limit }) => store.suppressions(registration === undefined ? {} : { registrationId: registration }, limit)
  }),
  suppress: suppressionCommand(true, 'puts a number on a registration\'s suppression list: its messages still queued, and those to come, end Failed/OptedOut unsent'),
  unsuppress: suppressionCommand(false, 'takes a number off a registration\'s suppression list (as its START reply does)'),
  erase: command({
    summary: 'erases a phone number\'s personal data (GDPR): its messages\' number and text blanked, its replies and suppression entries deleted, its unsent messages never sent; reports owed still go, without it',
    params: z.object({ number: phoneNumber }),
    positional: ['number'],
    changes: true,
    wakes: ['reports'],
    run: (store, { number }, now) => store.erasePhoneNumber(number, now)
  })
}

/** A command given parameters it cannot use: the usage is printed, nothing runs. */
export class OpsUsageError extends Error {}

/** What a command was asked to act on does not exist: printed as an error, and a 404 on the admin API. */
export class OpsNotFoundError extends Error {}

/** The parameters of a command from its JSON (the admin API: query or body), checked; OpsUsageError when they do not fit. */
export function opsParams (command: OpsCommand, given: unknown): Record<string, unknown> {
  const parsed = command.params.strict().safeParse(given ?? {})
  if (parsed.success) return parsed.data
  throw new OpsUsageError(parsed.error.issues.map((i) => i.path.length === 0 ? i.message : `${i.path.join('.')}: ${i.message}`).join('; '))
}

/** The parameters of a command from its command line: the positional ones in order, then `--name value`. */
export function opsParamsFromArgs (command: OpsCommand, args: readonly string[]): Record<string, unknown> {
  const given: Record<string, string> = {}
  let next = 0
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const option = /^--([a-z]+)(?:=(.*))?$/.exec(arg)
    if (option === null) {
      const name = command.positional[next++]
      if (name === undefined) throw new OpsUsageError(`unexpected argument: ${arg}`)
      given[name] = arg
    } else {
      const value = option[2] ?? args[++i]
      if (value === undefined) throw new OpsUsageError(`--${option[1]} needs a value`)
      given[option[1]!] = value
    }
  }
  return opsParams(command, given)
}

/** The usage text: every command with its parameters and what it does. */
export function opsUsage (): string {
  const lines = Object.entries(OPS_COMMANDS).map(([name, c]) => {
    const params = Object.entries(c.params.shape).map(([p, schema]) => {
      const shown = c.positional.includes(p) ? `<${p}>` : `--${p} <${p}>`
      return (schema as z.ZodType).safeParse(undefined).success ? `[${shown}]` : shown
    }).join(' ')
    return `  ${`${name.padEnd(9)} ${params}`.trimEnd()}\n  ${' '.repeat(9)} ${c.summary}`
  })
  return ['usage: npm run ops -- <command> [parameters]   (reads DATABASE_URL, from the environment or .env)', 'commands:', ...lines].join('\n')
}
