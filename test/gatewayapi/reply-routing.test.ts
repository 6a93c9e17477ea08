import t from 'tap'
import { routeReply, type ReplyRegistration } from '../../src/gatewayapi/reply-routing.js'
import { readAddress, readError, replyText } from '../../src/gatewayapi/event-fields.js'

const a: ReplyRegistration = { id: 'a', senderId: 'BrandA', inboundTo: '1204' }
const b: ReplyRegistration = { id: 'b', senderId: 'BrandB', inboundTo: '1204' }
const c: ReplyRegistration = { id: 'c', senderId: 'BrandC', inboundTo: 'inbound-c' }

/** The store's memory as a plain map; counts the lookups. */
function memory (texted: Record<string, string[]>) {
  const lookups: string[] = []
  return { lookups, sendersOf: async (msisdn: string) => { lookups.push(msisdn); return texted[msisdn] ?? [] } }
}

t.test('one registration: always it, with no lookup', async (t) => {
  const m = memory({})
  t.same(await routeReply({ from: '4511' }, [a], m.sendersOf), [{ registrationId: 'a', to: '1204' }])
  t.same(await routeReply({ from: '4511', to: '4599' }, [a], m.sendersOf), [{ registrationId: 'a', to: '4599' }], 'the number texted is the `to`')
  t.same(m.lookups, [])
})

t.test('a number texted that one registration owns: that one, with no lookup', async (t) => {
  const m = memory({ 4511: ['a', 'b'] })
  t.same(await routeReply({ from: '4511', to: 'brandc' }, [a, b, c], m.sendersOf), [{ registrationId: 'c', to: 'brandc' }], 'a sender id, in any case')
  t.same(await routeReply({ from: '4511', to: 'inbound-c' }, [a, b, c], m.sendersOf), [{ registrationId: 'c', to: 'inbound-c' }])
  t.same(m.lookups, [])
})

t.test('a number texted that several registrations share: those of them that texted the customer, else the first of them', async (t) => {
  const m = memory({ 4511: ['c', 'b'], 4522: ['c'] })
  t.same(await routeReply({ from: '4511', to: '1204' }, [a, b, c], m.sendersOf), [{ registrationId: 'b', to: '1204' }], 'C texted too, but does not own 1204')
  t.same(await routeReply({ from: '4522', to: '1204' }, [a, b, c], m.sendersOf), [{ registrationId: 'a', to: '1204' }])
})

t.test('no registration known: every one that texted the customer, latest first; else the first', async (t) => {
  const m = memory({ 4511: ['c', 'a'], 4533: ['gone', 'b'] })
  t.same(await routeReply({ from: '4511' }, [a, b, c], m.sendersOf), [{ registrationId: 'c', to: 'inbound-c' }, { registrationId: 'a', to: '1204' }])
  t.same(await routeReply({ from: '4511', to: '4599' }, [a, b, c], m.sendersOf), [{ registrationId: 'c', to: '4599' }, { registrationId: 'a', to: '4599' }])
  t.same(await routeReply({ from: '4533' }, [a, b, c], m.sendersOf), [{ registrationId: 'b', to: '1204' }], 'a registration no longer configured is skipped')
  t.same(await routeReply({ from: '4544' }, [a, b, c], m.sendersOf), [{ registrationId: 'a', to: '1204' }])
})

t.test('a store error is thrown, not guessed around', async (t) => {
  await t.rejects(routeReply({ from: '4511' }, [a, c], () => Promise.reject(new Error('SQLITE_BUSY'))), /SQLITE_BUSY/)
})

t.test('the lenient field readers', async (t) => {
  t.same(readError({ hex_code: '0x1905', details: 'Unsupported sender' }), { code: '0x1905', details: 'Unsupported sender' })
  t.same(readError({ code: 42 }), { code: '42', details: null })
  t.same(readError('plain words'), { code: null, details: 'plain words' })
  t.same([readError(null), readError({}), readError(''), readError(7), readError([1])], [undefined, undefined, undefined, undefined, undefined])
  t.same(['Hi', { message: 'Hi', encoding: 'UCS2' }, { message: null }, { text: 'Hi' }, { latitude: 1.5, longitude: -2 }, { payload: { uri: 'https://x/y.jpg' } }, { other: 1 }, null, undefined].map(replyText),
    ['Hi', 'Hi', '', 'Hi', 'geo:1.5,-2', 'https://x/y.jpg', '', '', ''])
  t.same([4512345678, '+45 12 34 56 78', '004512345678', '(45) 1234-5678', 'BrandA', ' Brand A ', '', '+', 0, 1.5, null].map(readAddress),
    ['4512345678', '4512345678', '4512345678', '4512345678', 'BrandA', 'Brand A', undefined, undefined, undefined, undefined, undefined])
})
