import t from 'tap'
import { AdaptiveConcurrency } from '../../src/core/adaptive-concurrency.js'

// The dispatcher's concurrency limit, answer by answer: additive increase, multiplicative decrease.

t.test('the limit starts at the maximum and never goes past it', async (t) => {
  const c = new AdaptiveConcurrency({ max: 4 })
  t.equal(c.limit, 4)
  for (let i = 0; i < 20; i++) c.observe('fast', i, i)
  t.equal(c.limit, 4)
})

t.test('an overload halves the limit (rounded down), down to the minimum', async (t) => {
  const c = new AdaptiveConcurrency({ max: 9, min: 2 })
  const limits: number[] = []
  for (let i = 1; i <= 4; i++) {
    c.observe('overloaded', i * 10, i * 10 + 1)
    limits.push(c.limit)
  }
  t.same(limits, [4, 2, 2, 2])
  t.equal(new AdaptiveConcurrency({ max: 8, decrease: 0.75 }).limit, 8)
  const gentle = new AdaptiveConcurrency({ max: 8, decrease: 0.75 })
  gentle.observe('slow', 0, 1)
  t.equal(gentle.limit, 6, 'a slow answer cuts as an overload does, by the share asked')
})

t.test('a burst of overloads cuts once: only an answer to a request sent after the last cut cuts again', async (t) => {
  const c = new AdaptiveConcurrency({ max: 16 })
  for (const sentAt of [100, 100, 105, 110]) c.observe('overloaded', sentAt, 120)
  t.equal(c.limit, 8, 'four requests sent before the cut at 120: one cut')
  c.observe('overloaded', 120, 130)
  t.equal(c.limit, 8, 'sent at the very time of the cut: not after it')
  c.observe('overloaded', 121, 130)
  t.equal(c.limit, 4, 'sent after the cut: cuts again')
})

t.test('each `limit` fast answers in a row raise the limit by one; an overload or a slow answer starts the count again; a neutral answer changes nothing', async (t) => {
  const c = new AdaptiveConcurrency({ max: 8 })
  c.observe('overloaded', 0, 1)
  t.equal(c.limit, 4)
  for (let i = 0; i < 3; i++) c.observe('fast', 2, 3)
  t.equal(c.limit, 4, 'three fast answers: not yet')
  c.observe('neutral', 2, 3)
  t.equal(c.limit, 4, 'a neutral answer is not a fast one')
  c.observe('fast', 2, 3)
  t.equal(c.limit, 5, 'the fourth: one more')
  for (let i = 0; i < 4; i++) c.observe('fast', 4, 5)
  c.observe('slow', 1, 5)
  t.equal(c.limit, 5, 'a slow answer to a request sent before the last cut cuts nothing')
  c.observe('fast', 6, 7)
  t.equal(c.limit, 5, 'but the count starts again: four fast ones before it do not count')
  for (let i = 0; i < 4; i++) c.observe('fast', 6, 7)
  t.equal(c.limit, 6, 'five in a row')
})

t.test('a maximum below the minimum: the maximum wins', async (t) => {
  const c = new AdaptiveConcurrency({ max: 1, min: 2 })
  c.observe('overloaded', 0, 1)
  t.equal(c.limit, 1)
})
