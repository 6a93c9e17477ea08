import type { Logger } from 'pino'
import type { WorkKind, WorkSignalStore } from './store/store.js'
import type { WorkEvents, WorkNotifier } from './work-notifier.js'

const EVENT_OF: Record<WorkKind, keyof WorkEvents> = { messages: 'messagesDue', reports: 'reportsQueued', replies: 'repliesQueued' }
const KINDS = Object.keys(EVENT_OF) as WorkKind[]

/**
 * Wake-ups across replicas. What this process's commits made due (announced on `work`) is told
 * to the other processes on the same database, and what theirs made due is announced on `work`
 * here, so that a campaign accepted by one replica starts going out from another at once.
 * Signals are hints: one lost (a dropped connection) only delays the work until the loops' idle
 * poll. Outgoing signals are coalesced: at most one per kind waits while one is being sent, so a
 * burst of commits costs a signal or two, not one each. Resolves to the function that stops it.
 */
export async function shareWork (work: WorkNotifier, store: WorkSignalStore, logger: Logger): Promise<() => Promise<void>> {
  const waiting = new Set<WorkKind>()
  let sending: Promise<void> | undefined
  // Set while a signal from elsewhere is announced here: it must not be sent back out.
  let fromElsewhere = false

  const send = async (): Promise<void> => {
    while (waiting.size > 0) {
      const kinds = [...waiting]
      waiting.clear()
      try {
        await store.signalWork(kinds)
      } catch (err) {
        logger.debug({ err }, 'could not tell the other replicas about new work; they find it at their idle poll')
      }
    }
    sending = undefined
  }
  const note = (kind: WorkKind) => () => {
    if (fromElsewhere) return
    waiting.add(kind)
    sending ??= new Promise<void>((resolve) => setImmediate(resolve)).then(send)
  }
  const listeners = KINDS.map((kind) => [EVENT_OF[kind], note(kind)] as const)
  for (const [event, listener] of listeners) work.on(event, listener)

  const stopListening = await store.listenForWork((kind) => {
    fromElsewhere = true
    try {
      work.emit(EVENT_OF[kind])
    } finally {
      fromElsewhere = false
    }
  })
  return async () => {
    for (const [event, listener] of listeners) work.off(event, listener)
    await stopListening()
    await sending
  }
}
