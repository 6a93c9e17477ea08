import t from 'tap'
import { secretsEqual } from '../../src/lib/constant-time.js'

t.test('secretsEqual: equal secrets only, whatever their lengths', async (t) => {
  t.equal(secretsEqual('aggregator-key-1', 'aggregator-key-1'), true)
  t.equal(secretsEqual('aggregator-key-1', 'aggregator-key-2'), false, 'one character differs')
  t.equal(secretsEqual('aggregator-key', 'aggregator-key-1'), false, 'a prefix is not equal')
  t.equal(secretsEqual('', 'aggregator-key-1'), false, 'empty against a key')
  t.equal(secretsEqual('', ''), true, 'two empty strings are equal')
  t.equal(secretsEqual('ключ', 'ключ'), true, 'non-ASCII')
})
