import type { Store } from '../core/store/store.js'

/** One operator's command: what it does, and how it runs against the store (what it prints). */
export interface OpsCommand {
  summary: string
  run (store: Store, args: readonly string[]): Promise<unknown>
}

/**
 * The operator's commands, by name, each through the store's interfaces only, so that each works
 * on SQLite and PostgreSQL alike (the admin API runs the same ones).
 */
export const OPS_COMMANDS: Readonly<Record<string, OpsCommand>> = {
  status: {
    summary: 'the queue\'s state: batches, messages by state (queued and sending are the dispatcher\'s queue), both outboxes by state (the same figures as /metrics)',
    run: (store) => store.stats()
  },
  parked: {
    summary: 'the parked delivery reports and replies (given up on: they wait for an operator), each with its last error, oldest first; at most 100 of each, or `parked <n>`',
    run: (store, args) => store.parked({ limit: countArgument(args[0], 100) })
  }
}

/** A command's optional count (a whole number from 1), else its default. */
function countArgument (given: string | undefined, otherwise: number): number {
  if (given === undefined) return otherwise
  if (!/^[1-9]\d{0,8}$/.test(given)) throw new OpsUsageError(`not a count: ${given}`)
  return Number(given)
}

/** A command given arguments it cannot use: the usage is printed, nothing runs. */
export class OpsUsageError extends Error {}

/** The usage text: every command with what it does. */
export function opsUsage (): string {
  const lines = Object.entries(OPS_COMMANDS).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`)
  return ['usage: npm run ops -- <command>   (reads DATABASE_URL, from the environment or .env)', 'commands:', ...lines].join('\n')
}
