import t from 'tap'
import { InstanceHeartbeat } from '../../src/core/instance-heartbeat.js'
import type { ReplicaStore, TakenOver } from '../../src/core/store/store.js'
import { createLogger } from '../../src/logger.js'
import { logCapture } from '../helper.js'

// The heartbeat of one replica, over a hand-made replica store and a hand clock: what each beat
// asks of the store, what a takeover tells, and what a stop does.

const INTERVAL = 1000
const DEAD_AFTER = 5000

function setup (answers: Array<TakenOver[] | Error> = []) {
  let now = 1_000_000
  const beats: Array<{ now: number; deadBefore: number }> = []
  let retired = 0
  let retireFails = false
  const store: ReplicaStore = {
    instanceId: 'me',
    heartbeat: async (at, deadBefore) => {
      beats.push({ now: at, deadBefore })
      const answer = answers.shift() ?? []
      if (answer instanceof Error) throw answer
      return answer
    },
    retireInstance: async () => {
      retired++
      if (retireFails) throw new Error('database unreachable')
    },
    leaseJob: async () => true
  }
  const log = logCapture()
  let takenOver = 0
  const heartbeat = new InstanceHeartbeat({
    store,
    clock: { now: () => now },
    logger: createLogger('info', log.stream),
    intervalMs: INTERVAL,
    deadAfterMs: DEAD_AFTER,
    onTakenOver: () => { takenOver++ }
  })
  return {
    heartbeat,
    beats,
    log,
    advance: (ms: number) => { now += ms },
    retired: () => retired,
    failRetire: () => { retireFails = true },
    takenOver: () => takenOver
  }
}

t.test('the first beat only says this replica is alive; later ones judge the others by deadAfterMs', async (t) => {
  const s = setup()
  await s.heartbeat.runOnce()
  s.advance(INTERVAL)
  await s.heartbeat.runOnce()
  t.same(s.beats, [
    { now: 1_000_000, deadBefore: Number.MIN_SAFE_INTEGER },
    { now: 1_001_000, deadBefore: 1_001_000 - DEAD_AFTER }
  ])
})

t.test('after a gap in its own beats longer than deadAfterMs, a beat judges nobody', async (t) => {
  const s = setup()
  await s.heartbeat.runOnce()
  s.advance(DEAD_AFTER + 1)
  await s.heartbeat.runOnce()
  s.advance(INTERVAL)
  await s.heartbeat.runOnce()
  t.same(s.beats.map((b) => b.deadBefore), [Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, s.beats[2]!.now - DEAD_AFTER])
})

t.test('a beat that fails counts as no beat: it is logged, never thrown, and the next one after a long gap judges nobody', async (t) => {
  const s = setup([[], new Error('connection refused')])
  await s.heartbeat.runOnce()
  s.advance(INTERVAL)
  await s.heartbeat.runOnce()
  t.match(s.log.text(), /heartbeat failed/)
  s.advance(DEAD_AFTER)
  await s.heartbeat.runOnce()
  t.equal(s.beats[2]!.deadBefore, Number.MIN_SAFE_INTEGER, 'its last recorded beat was too long ago')
})

t.test('claims taken over from a dead replica are logged and told (they are due now); a dead replica without claims is logged only', async (t) => {
  const s = setup([[], [{ instanceId: 'gone', lastHeartbeatAt: 990_000, claims: 0 }], [{ instanceId: 'crashed', lastHeartbeatAt: 995_000, claims: 12 }]])
  await s.heartbeat.runOnce()
  await s.heartbeat.runOnce()
  t.equal(s.takenOver(), 0, 'nothing to wake for a replica that held nothing')
  await s.heartbeat.runOnce()
  t.equal(s.takenOver(), 1)
  const lines = s.log.lines().map((l) => JSON.parse(l)).filter((l) => /stopped beating/.test(l.msg))
  t.match(lines, [{ deadInstance: 'gone', claims: 0, level: 40 }, { deadInstance: 'crashed', claims: 12, lastHeartbeatAt: new Date(995_000).toISOString() }])
})

t.test('start beats at once (once, however often it is called); stop retires this instance, and a failed retire is logged, not thrown', async (t) => {
  const s = setup()
  s.heartbeat.start()
  s.heartbeat.start()
  await s.heartbeat.runOnce()
  t.equal(s.beats.length, 1, 'one beat at start')
  await s.heartbeat.stop()
  t.equal(s.retired(), 1)
  s.failRetire()
  await s.heartbeat.stop()
  t.match(s.log.text(), /could not retire this instance/)
})
