import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { SimGatewayApi, SimGatewayApiOptions } from '../src/sim/gatewayapi.js'

/** What a simulator has accepted: how many distinct references, and how many of them more than once. */
export interface AcceptedCounts { distinct: number; twice: number }

/** A simulator's accepted messages, counted (in whichever process it runs). */
export function acceptedCounts (sim: SimGatewayApi): AcceptedCounts {
  const counts = sim.referenceCounts()
  return { distinct: counts.size, twice: [...counts.values()].filter((n) => n > 1).length }
}

/** When the simulator accepted a label's first and last message (epoch milliseconds), and how many it accepted. */
export interface LabelTimes { first: number; last: number; count: number }

/** The simulated GatewayAPI in a process of its own (`sim-gatewayapi-process.ts`), as its parent drives it. */
export interface SimGatewayApiChild {
  url: string
  /** Its process id (to measure its CPU). */
  pid: number
  /** Resolves once it has accepted `n` messages in all. */
  waitForAccepted: (n: number) => Promise<AcceptedCounts>
  /** Each label's times so far. */
  labelTimes: () => Promise<Record<string, LabelTimes>>
  close: () => Promise<void>
}

const ENTRY = fileURLToPath(new URL('./sim-gatewayapi-process.ts', import.meta.url))

export async function startSimGatewayApiChild (options: SimGatewayApiOptions): Promise<SimGatewayApiChild> {
  const child = fork(ENTRY, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, SIM_GATEWAYAPI_OPTIONS: JSON.stringify(options) } })
  const [{ url }] = await once(child, 'message') as [{ url: string }]
  const waiting = new Map<number, Array<(counts: AcceptedCounts) => void>>()
  const askingTimes: Array<(labels: Record<string, LabelTimes>) => void> = []
  child.on('message', (m: { reached?: number; labels?: Record<string, LabelTimes> } & AcceptedCounts) => {
    if (m.labels !== undefined) askingTimes.shift()?.(m.labels)
    if (m.reached === undefined) return
    for (const resolve of waiting.get(m.reached) ?? []) resolve(m)
    waiting.delete(m.reached)
  })
  return {
    url,
    pid: child.pid!,
    waitForAccepted: (n) => new Promise((resolve) => {
      waiting.set(n, [...(waiting.get(n) ?? []), resolve])
      child.send({ waitFor: n })
    }),
    labelTimes: () => new Promise((resolve) => {
      askingTimes.push(resolve)
      child.send({ labelTimes: true })
    }),
    close: async () => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.send({ close: true })
      await exited
    }
  }
}
