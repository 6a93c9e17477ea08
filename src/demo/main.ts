/**
 * `npm run demo`: the whole loop on this machine with no configuration. Simulated Optimove and
 * GatewayAPI on 127.0.0.1, the service between them, a sample campaign, live progress and a
 * summary. Exit code 0 when every message got exactly one delivery report and the customer's
 * STOP reached Optimove; otherwise 1 with a one-line reason (2 for bad arguments).
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { isLiveTerminal } from './progress.js'
import { runDemo, type DemoOptions } from './run.js'
import { formatSummary } from './summary.js'

export const DEFAULT_DATABASE = './data/demo/bridge.db'
export const DEFAULT_LOG = './data/demo/service.log'
const MAX_RECIPIENTS = 50_000

const USAGE = `Usage: npm run demo [-- --recipients N] [--db PATH] [--log PATH] [--timeout SECONDS]

  --recipients N       recipients of the sample campaign (default 1000, 2-${MAX_RECIPIENTS})
  --db PATH            SQLite file of the run (default ${DEFAULT_DATABASE}; recreated each run)
  --log PATH           where the service's own log lines go (default ${DEFAULT_LOG})
  --timeout SECONDS    give up after this long (default 120)
  -h, --help           this text`

class UsageError extends Error {}

function wholeNumber (name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}"`)
  return Number(value)
}

/** The command line → run options (no environment variable plays a part). */
export function parseDemoArgs (argv: string[]): Pick<DemoOptions, 'recipients' | 'databasePath' | 'databaseChosen' | 'logPath' | 'timeoutMs'> | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        recipients: { type: 'string', default: '1000' },
        db: { type: 'string' },
        log: { type: 'string', default: DEFAULT_LOG },
        timeout: { type: 'string', default: '120' },
        help: { type: 'boolean', short: 'h', default: false }
      },
      strict: true,
      allowPositionals: false
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const v = parsed.values
  if (v.help === true) return 'help'
  if (v.db !== undefined && (v.db === '' || v.db.includes(':'))) throw new UsageError('--db must be a file path without ":"')
  return {
    recipients: wholeNumber('recipients', v.recipients!, 2, MAX_RECIPIENTS),
    databasePath: resolve(v.db ?? DEFAULT_DATABASE),
    databaseChosen: v.db !== undefined,
    logPath: resolve(v.log!),
    timeoutMs: wholeNumber('timeout', v.timeout!, 1, 24 * 3600) * 1000
  }
}

async function main (): Promise<number> {
  let args
  try {
    args = parseDemoArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`demo: ${err.message}\n${USAGE}\n`)
    return 2
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }

  const interrupt = new AbortController()
  const onSigint = (): void => {
    // A second Ctrl-C does not wait for the clean stop.
    if (interrupt.signal.aborted) process.exit(130)
    interrupt.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSigint)
  try {
    const outcome = await runDemo({
      ...args,
      live: isLiveTerminal(process.stdout, process.env),
      out: process.stdout,
      signal: interrupt.signal
    })
    // Nothing to tabulate when the run stopped before the campaign was posted.
    if (outcome.timings.intakeMs !== undefined) process.stdout.write(formatSummary(outcome))
    if (outcome.failure !== undefined) {
      process.stderr.write(`demo failed: ${outcome.failure}\n`)
      return interrupt.signal.aborted ? 130 : 1
    }
    return 0
  } finally {
    process.off('SIGINT', onSigint)
  }
}

main().then((code) => { process.exitCode = code }, (err: Error) => {
  process.stderr.write(`demo failed: ${err.stack ?? String(err)}\n`)
  process.exitCode = 1
})
