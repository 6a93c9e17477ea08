import t from 'tap'
import { EventEmitter, once } from 'node:events'
import { WorkLoop, type WorkLoopOptions } from '../../src/core/work-loop.js'
import { createLogger } from '../../src/logger.js'
import { logCapture } from '../helper.js'

// The loop every leased-work consumer runs on, with hand-made claims and units: what runs when,
// how many at once, what a wake-up, a failure and a stop do.

interface Deferred { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void }
function deferred (): Deferred {
  let resolve!: () => void
  let reject!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** A queue of unit names the loop claims from, a record of what it did, and a unit's end the test decides. */
function harness (options: Partial<WorkLoopOptions<string>> = {}) {
  const queue: string[] = []
  const events = new EventEmitter()
  const record = { claims: [] as number[], started: [] as string[], ended: [] as string[], released: [] as string[], maxRunning: 0 }
  const ends = new Map<string, Deferred>()
  let running = 0
  const log = logCapture()
  const loop: WorkLoop<string> = new WorkLoop<string>({
    name: 'test',
    logger: createLogger('info', log.stream),
    clock: { now: () => Date.now() },
    concurrency: 2,
    idlePollMs: 600_000,
    claim: async (slots) => {
      record.claims.push(slots)
      const units = queue.splice(0, slots)
      events.emit('claimed')
      return units
    },
    run: async (unit) => {
      running++
      record.maxRunning = Math.max(record.maxRunning, running)
      record.started.push(unit)
      const end = deferred()
      ends.set(unit, end)
      events.emit('started')
      try {
        await end.promise
      } finally {
        running--
        record.ended.push(unit)
        events.emit('ended')
      }
    },
    release: (units) => { record.released.push(...units) },
    ...options
  })
  t.teardown(async () => {
    for (const end of ends.values()) end.resolve()
    await loop.stop()
  })
  const waitFor = async (event: string, done: () => boolean): Promise<void> => {
    while (!done()) await once(events, event)
  }
  return { loop, queue, events, record, ends, log, waitFor, finish: (unit: string) => ends.get(unit)!.resolve() }
}

t.test('at most `concurrency` units run; a slow one never holds up the others', async (t) => {
  const { loop, queue, record, waitFor, finish } = harness()
  queue.push('slow', 'a', 'b', 'c', 'd')
  loop.start()
  await waitFor('started', () => record.started.length === 2)
  t.same(record.started, ['slow', 'a'])
  t.equal(loop.inFlightCount, 2)
  for (const unit of ['a', 'b', 'c']) {
    finish(unit)
    await waitFor('started', () => record.ended.includes(unit) && record.started.length === ['a', 'b', 'c'].indexOf(unit) + 3)
  }
  t.same(record.started, ['slow', 'a', 'b', 'c', 'd'], 'every unit after the slow one went through the other slot')
  t.equal(record.maxRunning, 2, 'never more than two at once')
  t.ok(record.claims.every((slots) => slots >= 1 && slots <= 2), 'each claim asks for the free slots only')
  finish('d')
  finish('slow')
  await waitFor('ended', () => record.ended.length === 5)
  t.equal(loop.inFlightCount, 0)
})

t.test('a claim may bring more units than slots: the rest wait in the backlog, in order, and go as slots free', async (t) => {
  const { loop, record, waitFor, finish } = harness({
    concurrency: 1,
    claim: async () => record.claims.push(1) === 1 ? ['x', 'y', 'z'] : []
  })
  loop.start()
  await waitFor('started', () => record.started.length === 1)
  finish('x')
  await waitFor('started', () => record.started.length === 2)
  finish('y')
  await waitFor('started', () => record.started.length === 3)
  t.same(record.started, ['x', 'y', 'z'])
  t.equal(record.claims.length, 1, 'no claim while the backlog fills the slot')
})

t.test('a wake-up during a claim is not lost: another round follows and takes what came meanwhile', async (t) => {
  const firstClaim = deferred()
  const { loop, queue, record, waitFor } = harness({
    claim: async (slots) => {
      record.claims.push(slots)
      if (record.claims.length === 1) await firstClaim.promise // nothing due yet when it looked
      return record.claims.length === 1 ? [] : queue.splice(0, slots)
    }
  })
  loop.start()
  queue.push('late')
  loop.wake() // the claim is under way: noted, not started twice
  loop.wake()
  t.equal(record.claims.length, 1, 'no second claim while one is under way')
  firstClaim.resolve()
  await waitFor('started', () => record.started.length === 1)
  t.same(record.started, ['late'], 'the work stored during the first claim was found by the round the wake-up asked for')
})

t.test('the end of a unit wakes the loop: a full loop claims again without waiting for a timer', async (t) => {
  const { loop, queue, record, waitFor, finish } = harness({ concurrency: 1 })
  queue.push('a')
  loop.start()
  await waitFor('started', () => record.started.length === 1)
  queue.push('b') // stored while the only slot is busy, with nobody calling wake()
  finish('a')
  await waitFor('started', () => record.started.length === 2)
  t.same(record.started, ['a', 'b'])
})

t.test('mayClaim: no claim while it says no; it is told how many units run', async (t) => {
  let open = false
  const asked: number[] = []
  const { loop, queue, record, events, waitFor } = harness({
    mayClaim: (running) => { asked.push(running); events.emit('asked'); return open },
    claim: async () => { record.claims.push(1); return queue.splice(0, 1) }
  })
  queue.push('a', 'b')
  loop.start()
  await waitFor('asked', () => asked.length === 1)
  t.same(record.claims, [], 'closed: nothing claimed')
  open = true
  loop.wake()
  await waitFor('started', () => record.started.length === 2)
  t.same(asked.slice(-2), [0, 1], 'asked before each claim, with the units running')
})

t.test('admit: a held unit keeps its place while the ones behind it go; a dropped one is gone', async (t) => {
  let holding = true
  const { loop, record, waitFor, finish } = harness({
    concurrency: 2,
    claim: async () => record.claims.push(1) === 1 ? ['held', 'dropped', 'go'] : [],
    admit: (unit) => unit === 'held' ? (holding ? 'hold' : 'go') : unit === 'dropped' ? 'drop' : 'go'
  })
  loop.start()
  await waitFor('started', () => record.started.length === 1)
  t.same(record.started, ['go'])
  holding = false
  finish('go')
  await waitFor('started', () => record.started.length === 2)
  t.same(record.started, ['go', 'held'], 'the held unit went once admitted; the dropped one never')
})

t.test('stop(): waits for the units running, hands back the ones claimed but not started, claims nothing after', async (t) => {
  const { loop, record, waitFor, finish } = harness({
    concurrency: 1,
    claim: async () => record.claims.push(1) === 1 ? ['a', 'b', 'c'] : []
  })
  loop.start()
  loop.start()
  await waitFor('started', () => record.started.length === 1)
  let stopped = false
  const stopping = loop.stop().then(() => { stopped = true })
  const second = loop.stop()
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(stopped, 'stop() waits for the unit running')
  t.same(record.released, ['b', 'c'], 'the backlog handed back at once, before the unit running ends')
  finish('a')
  await Promise.all([stopping, second])
  t.same(record.ended, ['a'])
  t.same(record.released, ['b', 'c'], 'and only once')
  t.same(record.started, ['a'], 'nothing started after stop()')
  loop.wake()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(record.claims.length, 1, 'wake() does nothing while stopped')
  t.equal(loop.running, false)
})

t.test('stop() during a claim: what that claim brings is handed back, not started', async (t) => {
  const claim = deferred()
  const { loop, record } = harness({
    claim: async () => { record.claims.push(1); await claim.promise; return ['a'] }
  })
  loop.start()
  const stopping = loop.stop()
  claim.resolve()
  await stopping
  t.same(record.started, [])
  t.same(record.released, ['a'])
})

t.test('a failed claim is logged and tried again after the idle poll; a unit that throws is logged and the loop goes on', async (t) => {
  let calls = 0
  const h = harness({
    idlePollMs: 5,
    claim: async (slots) => {
      if (++calls === 1) throw new Error('database is locked')
      h.record.claims.push(slots)
      return h.queue.splice(0, slots)
    },
    run: async (unit) => {
      h.record.started.push(unit)
      h.events.emit('started')
      throw new Error(`unit ${unit} broke`)
    }
  })
  h.queue.push('a')
  h.loop.start()
  // Nothing but the idle poll's timer wakes the loop after the failed claim.
  await h.waitFor('started', () => h.record.started.length === 1)
  h.queue.push('b')
  h.loop.wake()
  await h.waitFor('started', () => h.record.started.length === 2)
  const lines = h.log.lines().map((l) => JSON.parse(l) as { msg: string; loop: string; err?: { message: string } })
  t.match(lines.slice(0, 2), [
    { msg: 'claiming due work failed; trying again after the idle poll', loop: 'test', err: { message: 'database is locked' } },
    { msg: 'a request failed unexpectedly; its rows come back after their lease', loop: 'test', err: { message: 'unit a broke' } }
  ])
  t.same(h.record.started, ['a', 'b'], 'the loop went on after the unit that threw')
})

t.test('nextWakeAt: the loop looks again at the time it names, without a wake-up', async (t) => {
  const asked: Array<[boolean, number]> = []
  const h = harness({
    idlePollMs: 600_000,
    nextWakeAt: async (afterFailure, running) => {
      asked.push([afterFailure, running])
      return Date.now() + 5
    }
  })
  h.loop.start()
  await h.waitFor('claimed', () => h.record.claims.length === 1)
  h.queue.push('a') // stored with nobody calling wake()
  await h.waitFor('started', () => h.record.started.length === 1)
  t.same(asked[0], [false, 0], 'asked after the round, told there was no failure and nothing running')
})

t.test('nextWakeAt null: no timer; the end of a unit wakes the loop instead', async (t) => {
  const h = harness({ concurrency: 2, nextWakeAt: async () => null })
  h.queue.push('a')
  h.loop.start()
  await h.waitFor('started', () => h.record.started.length === 1)
  h.queue.push('b')
  h.finish('a')
  await h.waitFor('started', () => h.record.started.length === 2)
  t.same(h.record.started, ['a', 'b'])
})

/** Timers pending in this process now. */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

t.test('no timer is left behind: none while every slot is busy, none when a running unit will wake the loop, none after stop()', async (t) => {
  const before = timers()
  const full = harness({ concurrency: 1 })
  full.queue.push('a')
  full.loop.start()
  await full.waitFor('started', () => full.record.started.length === 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(timers(), before, 'every slot busy: the end of a unit wakes the loop, no timer')
  full.finish('a')
  await full.waitFor('ended', () => full.record.ended.length === 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(timers(), before + 1, 'idle: the idle poll armed')
  await full.loop.stop()
  t.equal(timers(), before, 'stopped: no timer left')

  const asked = harness({ nextWakeAt: async () => null })
  asked.loop.start()
  await asked.waitFor('claimed', () => asked.record.claims.length === 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(timers(), before, 'nextWakeAt null: no timer')
  await asked.loop.stop()
})

t.test('after a failed claim the owner is told (afterFailure), and a failing nextWakeAt leaves the idle poll', async (t) => {
  const asked: boolean[] = []
  let calls = 0
  const h = harness({
    claim: async () => { if (++calls === 1) throw new Error('database is locked'); return [] },
    nextWakeAt: async (afterFailure) => {
      asked.push(afterFailure)
      h.events.emit('asked')
      throw new Error('store unreachable')
    },
    idlePollMs: 5
  })
  h.loop.start()
  // Only the idle poll brings the second round: the failing nextWakeAt must have left it armed.
  await h.waitFor('asked', () => asked.length === 2)
  t.same(asked, [true, false])
})

t.test('handing back fails: logged, and stop() still resolves', async (t) => {
  const h = harness({
    concurrency: 1,
    claim: async () => h.record.claims.push(1) === 1 ? ['a', 'b'] : [],
    release: async () => { throw new Error('store closed') }
  })
  h.loop.start()
  await h.waitFor('started', () => h.record.started.length === 1)
  const stopping = h.loop.stop()
  h.finish('a')
  await stopping
  t.match(h.log.lines().map((l) => JSON.parse(l) as Record<string, unknown>), [{ msg: 'handing back claimed work failed; it comes back after its lease', loop: 'test', err: { message: 'store closed' } }])
})

t.test('start() twice is one start: one claim round', async (t) => {
  const { loop, record, waitFor } = harness({ concurrency: 2 })
  loop.start()
  loop.start()
  await waitFor('claimed', () => record.claims.length >= 1)
  // The round ends and the loop sleeps (idle poll of ten minutes): a second round would claim at once.
  await new Promise((resolve) => setImmediate(resolve))
  t.same(record.claims, [2], 'one claim for both slots')
})

t.test('a failing nextWakeAt leaves the idle poll from now, never a wake-up in the past', async (t) => {
  const h = harness({
    nextWakeAt: async () => {
      h.events.emit('asked')
      throw new Error('store unreachable')
    }
  })
  h.loop.start()
  await h.waitFor('asked', () => h.record.claims.length === 1)
  // Every promise of the round settled (the timer armed), then the next timers phase: a timer
  // armed in the past would have fired in it, before this one, and claimed again.
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setTimeout(resolve, 0))
  t.equal(h.record.claims.length, 1, 'no second claim before the idle poll (ten minutes)')
})

t.test('onSleep is told each sleep: until the time nextWakeAt names, or null when a running unit will wake the loop; nothing once stopped', async (t) => {
  const slept: Array<number | null> = []
  let next: number | null = 1234
  const h = harness({
    concurrency: 1,
    nextWakeAt: async () => next,
    onSleep: (until) => { slept.push(until); h.events.emit('slept') }
  })
  h.loop.start()
  await h.waitFor('slept', () => slept.length === 1)
  t.same(slept, [1234], 'idle: until the time named')
  h.queue.push('a')
  h.loop.wake()
  await h.waitFor('slept', () => slept.length === 2)
  t.same(slept, [1234, null], 'every slot busy: until the unit ends')
  next = null
  h.finish('a')
  await h.waitFor('slept', () => slept.length === 3)
  t.same(slept, [1234, null, null], 'nextWakeAt null')
  await h.loop.stop()
  h.loop.wake()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(slept.length, 3, 'no sleep told after stop()')
})

t.test('stop() during a round: the loop asks no more of its owner and arms no timer, whatever the round\'s claim or nextWakeAt brings', async (t) => {
  const before = timers()
  // A claim that fails once stop() was called: nextWakeAt is not asked.
  const claiming = deferred()
  const asked: boolean[] = []
  const failing = harness({
    claim: async () => { failing.events.emit('claimed'); await claiming.promise; return [] },
    nextWakeAt: async (afterFailure) => { asked.push(afterFailure); return null }
  })
  const claimed = once(failing.events, 'claimed')
  failing.loop.start()
  await claimed
  const stopped = failing.loop.stop()
  claiming.reject(new Error('the store is closing'))
  await stopped
  t.same(asked, [], 'nextWakeAt not asked after stop()')

  // A nextWakeAt that answers once stop() was called: no sleep is told, no timer armed.
  const answering = deferred()
  const slept: Array<number | null> = []
  const h = harness({
    nextWakeAt: async () => { h.events.emit('asked'); await answering.promise; return Date.now() + 600_000 },
    onSleep: (until) => { slept.push(until) }
  })
  const askedNow = once(h.events, 'asked')
  h.loop.start()
  await askedNow
  const stopping = h.loop.stop()
  answering.resolve()
  await stopping
  t.same(slept, [], 'no sleep told')
  t.equal(timers(), before, 'no timer left')
})
