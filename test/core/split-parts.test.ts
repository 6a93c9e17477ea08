import t from 'tap'
import { SplitParts } from '../../src/core/split-parts.js'

// The dispatcher's memory of split requests' parts on its own: what a claim is sent as, what is
// forgotten, and the bound.

const m = (id: string) => ({ id })
const ids = (requests: Array<Array<{ id: string }>>) => requests.map((r) => r.map((x) => x.id))

t.test('nothing remembered: a claim is one request', async (t) => {
  const memory = new SplitParts(10)
  t.same(ids(memory.requestsOf([m('a'), m('b')])), [['a', 'b']])
})

t.test('remembered parts come back each on its own, the other messages together; then they are forgotten', async (t) => {
  const memory = new SplitParts(10)
  memory.remember([[m('a'), m('b')], [m('c')]])
  t.equal(memory.size, 3)
  t.same(ids(memory.requestsOf([m('x'), m('a'), m('c'), m('b'), m('y')])), [['x', 'y'], ['a', 'b'], ['c']])
  t.equal(memory.size, 0, 'claimed again, forgotten')
  t.same(ids(memory.requestsOf([m('a'), m('b'), m('c')])), [['a', 'b', 'c']], 'a later claim of them is one request again')
})

t.test('two remembered splits stay apart, each part its own request', async (t) => {
  const memory = new SplitParts(10)
  memory.remember([[m('a')], [m('b')]])
  memory.remember([[m('c'), m('d')]])
  t.same(ids(memory.requestsOf([m('a'), m('b'), m('c'), m('d')])), [['a'], ['b'], ['c', 'd']])
})

t.test('past its bound the memory is dropped before more is remembered; up to it, nothing is', async (t) => {
  const memory = new SplitParts(3)
  memory.remember([[m('a'), m('b')], [m('c')]])
  memory.remember([[m('d')]])
  t.equal(memory.size, 4, 'three at the bound: kept, and one more added')
  memory.remember([[m('e'), m('f')]])
  t.equal(memory.size, 2, 'four past the bound of three: dropped, then the new part remembered')
  t.same(ids(memory.requestsOf([m('a'), m('b'), m('c'), m('d'), m('e'), m('f')])), [['a', 'b', 'c', 'd'], ['e', 'f']], 'the dropped ones are one request again')
})
