/**
 * The simulated GatewayAPI in a process of its own, as a deployment's GatewayAPI would be: the
 * benchmark's parent (see `sim-gatewayapi-child.ts`) learns its URL, asks it to tell when it has
 * accepted `n` messages (with how many distinct references and how many more than once), asks
 * when each label's messages arrived, and stops it. Options as SimGatewayApi's, except the
 * webhook's pick function (not serialisable).
 */
import { SimGatewayApi, type SimGatewayApiOptions } from '../src/sim/gatewayapi.js'
import { acceptedCounts, type LabelTimes } from './sim-gatewayapi-child.js'

type Ask = { waitFor: number } | { close: true } | { labelTimes: true }

const options = JSON.parse(process.env.SIM_GATEWAYAPI_OPTIONS ?? '{}') as SimGatewayApiOptions
const sim = await new SimGatewayApi(options).start()

// When each label's first and last message arrived (epoch milliseconds, sub-millisecond), and how many.
const labels: Record<string, LabelTimes> = {}
let seen = 0
sim.on('accepted', () => {
  const now = performance.timeOrigin + performance.now()
  for (; seen < sim.accepted.length; seen++) {
    const label = String(sim.accepted[seen]!.label)
    const times = labels[label] ??= { first: now, last: now, count: 0 }
    times.last = now
    times.count++
  }
})

process.send!({ url: sim.url })
process.on('message', (ask: Ask) => {
  if ('close' in ask) {
    void sim.close().then(() => process.exit(0))
    return
  }
  if ('labelTimes' in ask) {
    process.send!({ labels })
    return
  }
  void sim.waitForAccepted(ask.waitFor).then(() => {
    process.send!({ reached: ask.waitFor, ...acceptedCounts(sim) })
  })
})
// The benchmark that started it is gone: so is the simulator.
process.on('disconnect', () => process.exit(0))
