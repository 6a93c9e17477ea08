import t from 'tap'
import { errorFromShape, errorShape } from '../../../src/core/store/store-error.js'

// What a store error keeps across the store's thread boundary (a structured clone): name,
// message, the driver's code, and its causes.

t.test('name, message, code and a chain of causes come through a structured clone', async (t) => {
  const root = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
  const err = Object.assign(new Error('settling failed', { cause: root }), { code: 'STORE_WRITE' })
  err.name = 'StoreError'
  const back = errorFromShape(structuredClone(errorShape(err)))
  t.ok(back instanceof Error)
  t.match(back, { name: 'StoreError', message: 'settling failed', code: 'STORE_WRITE' })
  t.match(back.cause, { name: 'Error', message: 'disk I/O error', code: 'SQLITE_IOERR' })
  t.notOk('cause' in (back.cause as Error), 'the chain ends where it ended')
})

t.test('an error without a code has none; a thrown non-error becomes an error with its text; a cycle of causes is cut', async (t) => {
  t.notOk('code' in errorFromShape(errorShape(new Error('plain'))))
  t.same(errorShape('just text'), { name: 'Error', message: 'just text' })
  const a = new Error('a') as Error & { cause?: unknown }
  a.cause = a
  let depth = 0
  for (let s: ReturnType<typeof errorShape> | undefined = errorShape(a); s !== undefined; s = s.cause) depth++
  t.equal(depth, 6, 'the error and five causes at most')
})
