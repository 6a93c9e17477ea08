import { readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'

/**
 * Where a benchmark's CPU went, read from Linux's /proc: each part's CPU time per 1,000
 * messages and how busy the whole machine was, so that a figure says whether the service or the
 * machine was the limit. Elsewhere (no /proc) every figure is null.
 */

/** /proc counts CPU time in clock ticks of 1/100 s (USER_HZ on every Linux the service targets). */
const TICKS_PER_SECOND = 100

/** utime and stime of a /proc/<pid>/stat line: the 12th and 13th fields after the command's closing parenthesis. */
function ticksOfStat (stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** CPU seconds a process has used so far (user and system, all its threads); 0 once it is gone. */
export function cpuSeconds (pid: number): number {
  try {
    return ticksOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/**
 * CPU seconds used so far by the PostgreSQL server's processes on this machine (each a process
 * named `postgres`: its sessions, writers and autovacuum); undefined when none is visible (the
 * server on another host). A session that ends takes its count with it: measure while the
 * service's pool is open.
 */
export function databaseServerCpuSeconds (): number | undefined {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return undefined
  }
  let ticks = 0
  let seen = false
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue
      ticks += ticksOfStat(stat)
      seen = true
    } catch {
      // Gone meanwhile.
    }
  }
  return seen ? ticks / TICKS_PER_SECOND : undefined
}

/** The whole machine's busy and total CPU ticks so far (all cores; iowait counts as idle). */
function machineTicks (): { busy: number; total: number } | undefined {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0)
    return { busy, total: busy + idle! + iowait! }
  } catch {
    return undefined
  }
}

/** The processes a benchmark measures: the service's (its replicas), the simulated GatewayAPI's when it runs apart. */
export interface MeteredProcesses {
  service: readonly number[]
  simulator?: number
  /** Whether the store is a PostgreSQL server (measured when it runs on this host). */
  database: boolean
}

export interface CpuFigures {
  cores: number
  /** Share of the machine's CPU (all cores) in use meanwhile, whoever used it: near 1, the machine was the limit. */
  machineBusy: number | null
  /** CPU milliseconds per 1,000 messages: the service, the simulator (null when it runs in the service's process), the PostgreSQL server (null: SQLite, or not on this host). */
  msPer1000Messages: { service: number | null; simulator: number | null; database: number | null }
}

const round = (n: number, places: number): number => Math.round(n * 10 ** places) / 10 ** places

/** Starts measuring; `stop(messages)` gives the figures for the messages relayed meanwhile. */
export function startCpuMeter (processes: MeteredProcesses): { stop: (messages: number) => CpuFigures } {
  const serviceSeconds = (): number => processes.service.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
  const before = { service: serviceSeconds(), simulator: processes.simulator === undefined ? 0 : cpuSeconds(processes.simulator), database: processes.database ? databaseServerCpuSeconds() : undefined, machine: machineTicks() }
  return {
    stop: (messages) => {
      const machine = machineTicks()
      const database = processes.database ? databaseServerCpuSeconds() : undefined
      const per1000 = (seconds: number): number => round((seconds * 1000 * 1000) / messages, 1)
      return {
        cores: availableParallelism(),
        machineBusy: machine === undefined || before.machine === undefined || machine.total === before.machine.total
          ? null
          : round((machine.busy - before.machine.busy) / (machine.total - before.machine.total), 2),
        msPer1000Messages: {
          service: machine === undefined ? null : per1000(serviceSeconds() - before.service),
          simulator: processes.simulator === undefined || machine === undefined ? null : per1000(cpuSeconds(processes.simulator) - before.simulator),
          database: database === undefined || before.database === undefined ? null : per1000(database - before.database)
        }
      }
    }
  }
}
