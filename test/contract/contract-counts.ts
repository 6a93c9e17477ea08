import { appendFileSync, mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * How many requests and events this test process held to GatewayAPI's contract, so that a
 * whole suite run can say how much traffic the contract saw (not only that nothing broke it).
 *
 * When the environment variable GATEWAYAPI_CONTRACT_COUNTS names a folder, each test process
 * appends one JSON line to `counts.jsonl` in it as it exits; `test/contract/count.mjs` adds
 * them up. Unset, nothing is written.
 */
export const COUNTS_DIR_VARIABLE = 'GATEWAYAPI_CONTRACT_COUNTS'

export interface ContractCounts {
  requests: number
  events: number
  violations: number
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const counts: ContractCounts = { requests: 0, events: 0, violations: 0 }
let writesAtExit = false

/** Counts one validated request or event and the violations found in it. */
export function tally (kind: 'requests' | 'events', violations: number): void {
  counts[kind]++
  counts.violations += violations
  if (!writesAtExit) {
    writesAtExit = true
    process.once('exit', writeCounts)
  }
}

/** This process's counts so far. */
export function contractCounts (): ContractCounts {
  return { ...counts }
}

/** One line per process; a small append is a single write, so processes running side by side do not mix lines. */
function writeCounts (): void {
  const dir = process.env[COUNTS_DIR_VARIABLE]
  if (dir === undefined || dir === '') return
  mkdirSync(dir, { recursive: true })
  const file = process.argv[1] === undefined ? '(unknown)' : relative(ROOT, process.argv[1])
  appendFileSync(join(dir, 'counts.jsonl'), JSON.stringify({ file, ...counts }) + '\n')
}
