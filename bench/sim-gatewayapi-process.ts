/**
 * The simulated GatewayAPI in a process of its own, as a deployment's GatewayAPI would be: the
 * benchmark's parent (see `sim-gatewayapi-child.ts`) learns its URL, asks it to tell when it has
 * accepted `n` messages (with how many distinct references and how many more than once), and
 * stops it. Options as SimGatewayApi's, except the webhook's pick function (not serialisable).
 */
import { SimGatewayApi, type SimGatewayApiOptions } from '../src/sim/gatewayapi.js'
import { acceptedCounts } from './sim-gatewayapi-child.js'

type Ask = { waitFor: number } | { close: true }

const options = JSON.parse(process.env.SIM_GATEWAYAPI_OPTIONS ?? '{}') as SimGatewayApiOptions
const sim = await new SimGatewayApi(options).start()
process.send!({ url: sim.url })
process.on('message', (ask: Ask) => {
  if ('close' in ask) {
    void sim.close().then(() => process.exit(0))
    return
  }
  void sim.waitForAccepted(ask.waitFor).then(() => {
    process.send!({ reached: ask.waitFor, ...acceptedCounts(sim) })
  })
})
// The benchmark that started it is gone: so is the simulator.
process.on('disconnect', () => process.exit(0))
