import t from 'tap'
import { invalidItemsOf } from '../../src/gatewayapi/validation-error.js'

const detail = (...entries: Array<{ loc: unknown; msg?: string; type?: string }>) => ({
  detail: entries.map((e) => ({ type: 'value_error', msg: 'bad', ...e }))
})

t.test('/mobile/multi: the item index and field come from loc', async (t) => {
  const body = detail({ loc: ['body', 'messages', 3, 'recipient'], msg: 'Value error, invalid MSISDN' })
  t.strictSame(invalidItemsOf(body, false), new Map([[3, 'recipient: Value error, invalid MSISDN']]))
})

t.test('/mobile/multi: errors on several items blame each of them', async (t) => {
  const body = detail(
    { loc: ['body', 'messages', 0, 'sender'], msg: 'String should have at least 3 characters' },
    { loc: ['body', 'messages', 7, 'recipient'], msg: 'Input should be a valid integer' }
  )
  t.strictSame(invalidItemsOf(body, false), new Map([
    [0, 'sender: String should have at least 3 characters'],
    [7, 'recipient: Input should be a valid integer']
  ]))
})

t.test('/mobile/multi: several errors on one item are joined into one reason', async (t) => {
  const body = detail(
    { loc: ['body', 'messages', 2, 'recipient'], msg: 'Input should be a valid integer' },
    { loc: ['body', 'messages', 2, 'message'], msg: 'String should have at most 39015 characters' }
  )
  t.strictSame(invalidItemsOf(body, false), new Map([
    [2, 'recipient: Input should be a valid integer; message: String should have at most 39015 characters']
  ]))
})

t.test('/mobile/multi: an item that is wrong as a whole is blamed with the message alone', async (t) => {
  const body = detail({ loc: ['body', 'messages', 1], msg: 'Input should be a valid dictionary' })
  t.strictSame(invalidItemsOf(body, false), new Map([[1, 'Input should be a valid dictionary']]))
})

t.test('/mobile/single: a field error blames the one message (index 0)', async (t) => {
  const body = detail({ loc: ['body', 'recipient'], msg: 'Value error, invalid MSISDN' })
  t.strictSame(invalidItemsOf(body, true), new Map([[0, 'recipient: Value error, invalid MSISDN']]))
})

t.test('/mobile/single: several field errors are joined', async (t) => {
  const body = detail(
    { loc: ['body', 'sender'], msg: 'too long' },
    { loc: ['body', 'recipient'], msg: 'not an integer' }
  )
  t.strictSame(invalidItemsOf(body, true), new Map([[0, 'sender: too long; recipient: not an integer']]))
})

t.test('a loc without an item index blames no message', async (t) => {
  t.strictSame(invalidItemsOf(detail({ loc: ['body', 'messages'], msg: 'List should have at least 1 item' }), false), new Map())
  t.strictSame(invalidItemsOf(detail({ loc: ['body'], msg: 'JSON decode error' }), false), new Map())
  t.strictSame(invalidItemsOf(detail({ loc: ['body'], msg: 'JSON decode error' }), true), new Map())
})

t.test('errors outside the body, or with an index that is not a number, blame no message', async (t) => {
  t.strictSame(invalidItemsOf(detail({ loc: ['query', 'messages', 0, 'recipient'] }), false), new Map())
  t.strictSame(invalidItemsOf(detail({ loc: ['header', 'authorization'] }), true), new Map())
  t.strictSame(invalidItemsOf(detail({ loc: ['body', 'messages', '3', 'recipient'] }), false), new Map())
  t.strictSame(invalidItemsOf(detail({ loc: 'body.messages.3' }), false), new Map())
})

t.test('only the blameable entries of a mixed detail are kept', async (t) => {
  const body = detail(
    { loc: ['body'], msg: 'something about the whole body' },
    { loc: ['body', 'messages', 4, 'recipient'], msg: 'invalid MSISDN' }
  )
  t.strictSame(invalidItemsOf(body, false), new Map([[4, 'recipient: invalid MSISDN']]))
})

t.test('malformed bodies blame no message and do not throw', async (t) => {
  for (const body of [null, undefined, 'Unprocessable Entity', 42, {}, { detail: 'Not Found' }, { detail: { loc: ['body', 'messages', 0] } }, { detail: [null, 'x', 1] }]) {
    t.strictSame(invalidItemsOf(body, false), new Map(), `multi: ${JSON.stringify(body)}`)
    t.strictSame(invalidItemsOf(body, true), new Map(), `single: ${JSON.stringify(body)}`)
  }
})
