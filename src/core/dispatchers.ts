import { EventEmitter } from 'node:events'
import type { Dispatcher, DispatcherState } from './dispatcher.js'
import { SENDING_OK, type SendingStatus } from './sending-status.js'
import type { LoopEvents } from './work-loop.js'

/** One provider account's dispatcher: its name (in logs and `/health`), and the loop that sends its registrations' messages. */
export interface AccountDispatcher {
  account: string
  dispatcher: Dispatcher
}

/**
 * The dispatchers of every provider account, as one: each account (its credentials and host)
 * sends its own registrations' messages with its own loop, so that a refusal of one account's
 * credentials, its lack of credit or a request to slow down halts or pauses that account alone.
 * Events of every loop are told here; the state and the sending status are the accounts' together.
 */
export class Dispatchers extends EventEmitter<LoopEvents> {
  constructor (readonly accounts: readonly AccountDispatcher[]) {
    super()
    for (const { dispatcher } of accounts) {
      dispatcher.on('settled', (settled) => this.emit('settled', settled))
      dispatcher.on('sleeping', (until) => this.emit('sleeping', until))
    }
  }

  start (): void {
    for (const { dispatcher } of this.accounts) dispatcher.start()
  }

  async stop (): Promise<void> {
    await Promise.all(this.accounts.map(({ dispatcher }) => dispatcher.stop()))
  }

  wake (): void {
    for (const { dispatcher } of this.accounts) dispatcher.wake()
  }

  /** The accounts' states together: requests in flight and allowed added up; paused, out of credit or halted when any account is. */
  state (): DispatcherState {
    const states = this.accounts.map(({ dispatcher }) => dispatcher.state())
    const halted = states.find((s) => s.halted !== undefined)
    return {
      running: states.some((s) => s.running),
      inFlight: states.reduce((n, s) => n + s.inFlight, 0),
      pausedUntil: Math.max(...states.map((s) => s.pausedUntil)),
      paused: states.some((s) => s.paused),
      noCredit: states.some((s) => s.noCredit),
      halted: halted?.halted,
      nextProbeAt: halted?.nextProbeAt,
      concurrencyLimit: states.reduce((n, s) => n + s.concurrencyLimit, 0)
    }
  }

  /** Each account's sending status, by account. */
  sendingByAccount (): Array<{ account: string; sending: SendingStatus }> {
    return this.accounts.map(({ account, dispatcher }) => ({ account, sending: dispatcher.sending() }))
  }

  /** The first account that does not send (halted before paused), named when there are several; ok when all send. */
  sending (): SendingStatus {
    const all = this.sendingByAccount()
    const stopped = all.find((a) => a.sending.state === 'halted') ?? all.find((a) => a.sending.state === 'paused')
    if (stopped === undefined || stopped.sending.state === 'ok') return SENDING_OK
    return this.accounts.length === 1 ? stopped.sending : { ...stopped.sending, account: stopped.account }
  }
}
