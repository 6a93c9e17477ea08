import t from 'tap'
import { Lifecycle } from '../src/lifecycle.js'

function recorder () {
  const log: string[] = []
  const part = (name: string, fail?: 'start' | 'stop') => ({
    name,
    start: async () => {
      if (fail === 'start') throw new Error(`${name} cannot start`)
      log.push(`start ${name}`)
    },
    stop: async () => {
      log.push(`stop ${name}`)
      if (fail === 'stop') throw new Error(`${name} cannot stop`)
    }
  })
  return { log, part }
}

t.test('parts start in order and stop in the reverse order, once', async (t) => {
  const { log, part } = recorder()
  const lifecycle = new Lifecycle().add(part('store')).add(part('loops')).add(part('http'))
  await lifecycle.start()
  await Promise.all([lifecycle.stop(), lifecycle.stop()])
  await lifecycle.stop()
  t.same(log, ['start store', 'start loops', 'start http', 'stop http', 'stop loops', 'stop store'])
})

t.test('a part that fails to start stops those that started, and the start fails', async (t) => {
  const { log, part } = recorder()
  const lifecycle = new Lifecycle().add(part('store')).add(part('loops')).add(part('http', 'start')).add(part('handshakes'))
  await t.rejects(lifecycle.start(), /http cannot start/)
  t.same(log, ['start store', 'start loops', 'stop loops', 'stop store'], 'nothing after the failed part starts; nothing of it stops')
})

t.test('a part that fails to stop does not keep the others from stopping; its error comes out', async (t) => {
  const { log, part } = recorder()
  const lifecycle = new Lifecycle().add(part('store')).add(part('loops', 'stop')).add(part('http'))
  await lifecycle.start()
  await t.rejects(lifecycle.stop(), /loops cannot stop/)
  t.same(log.filter((l) => l.startsWith('stop')), ['stop http', 'stop loops', 'stop store'])
})

t.test('parts without a start are still stopped; a stopped lifecycle does not start again', async (t) => {
  const log: string[] = []
  const lifecycle = new Lifecycle().add({ name: 'store', stop: () => { log.push('closed') } })
  await lifecycle.start()
  await lifecycle.stop()
  t.same(log, ['closed'])
  await t.rejects(lifecycle.start(), /does not start again/)
})
