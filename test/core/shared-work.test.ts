import t from 'tap'
import { shareWork } from '../../src/core/shared-work.js'
import { WorkNotifier } from '../../src/core/work-notifier.js'
import type { WorkKind, WorkSignalStore } from '../../src/core/store/store.js'
import { createLogger } from '../../src/logger.js'
import { logCapture } from '../helper.js'

// Wake-ups across replicas, over a hand-made signal channel: what this process announces goes
// out (coalesced), what another sends is announced here (and never sent back out).

/** A signal channel that records what is sent and lets the test deliver signals from "elsewhere". */
function channel (options: { failSends?: number } = {}) {
  const sent: WorkKind[][] = []
  let failures = options.failSends ?? 0
  let listener: ((kind: WorkKind) => void) | undefined
  let stopped = 0
  let sendDone: () => void = () => {}
  const store: WorkSignalStore = {
    signalWork: async (kinds) => {
      if (failures > 0) {
        failures--
        sendDone()
        throw new Error('connection lost')
      }
      sent.push([...kinds])
      sendDone()
    },
    listenForWork: async (l) => {
      listener = l
      return async () => { stopped++; listener = undefined }
    }
  }
  return {
    store,
    sent,
    stopped: () => stopped,
    fromElsewhere: (kind: WorkKind) => listener?.(kind),
    listening: () => listener !== undefined,
    /** Resolves at the next send (done or failed). */
    nextSend: () => new Promise<void>((resolve) => { sendDone = resolve })
  }
}

t.test('what this process announces in one turn goes out as one signal, each kind once', async (t) => {
  const work = new WorkNotifier()
  const c = channel()
  const stop = await shareWork(work, c.store, createLogger('silent'))
  t.teardown(stop)
  const sent = c.nextSend()
  work.emit('messagesDue', 'tenant-a')
  work.emit('messagesDue', 'tenant-b')
  work.emit('reportsQueued')
  work.emit('repliesQueued')
  await sent
  t.same(c.sent, [['messages', 'reports', 'replies']])
})

t.test('a signal from another process is announced here, and not sent back out', async (t) => {
  const work = new WorkNotifier()
  const c = channel()
  const stop = await shareWork(work, c.store, createLogger('silent'))
  t.teardown(stop)
  const heard: string[] = []
  work.on('messagesDue', () => heard.push('messages'))
  work.on('reportsQueued', () => heard.push('reports'))
  work.on('repliesQueued', () => heard.push('replies'))
  c.fromElsewhere('messages')
  c.fromElsewhere('reports')
  c.fromElsewhere('replies')
  t.same(heard, ['messages', 'reports', 'replies'])
  // A local announcement after them still goes out: only the echo was held back.
  const sent = c.nextSend()
  work.emit('repliesQueued')
  await sent
  t.same(c.sent, [['replies']], 'only the local announcement was sent')
})

t.test('a signal that cannot be sent is logged at debug, and later ones still go out', async (t) => {
  const work = new WorkNotifier()
  const c = channel({ failSends: 1 })
  const log = logCapture()
  const stop = await shareWork(work, c.store, createLogger('debug', log.stream))
  t.teardown(stop)
  let sent = c.nextSend()
  work.emit('messagesDue')
  await sent
  sent = c.nextSend()
  work.emit('reportsQueued')
  await sent
  t.same(c.sent, [['reports']])
  t.match(log.text(), /could not tell the other replicas about new work/)
})

t.test('stopped, it neither sends nor hears, and its listening ends', async (t) => {
  const work = new WorkNotifier()
  const c = channel()
  const stop = await shareWork(work, c.store, createLogger('silent'))
  t.ok(c.listening())
  await stop()
  t.equal(c.stopped(), 1, 'the listening was ended')
  t.notOk(c.listening())
  work.emit('messagesDue')
  // A send would be scheduled for the next turn of the event loop: let one pass.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(c.sent, [], 'nothing sent after stop')
  t.equal(work.listenerCount('messagesDue'), 0, 'no listener left on the notifier')
})

t.test('a stop waits for a signal being sent', async (t) => {
  const work = new WorkNotifier()
  const c = channel()
  const stop = await shareWork(work, c.store, createLogger('silent'))
  work.emit('messagesDue')
  await stop()
  t.same(c.sent, [['messages']], 'the announcement made before stop() went out before it resolved')
})
