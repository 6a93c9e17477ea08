import t from 'tap'
import { describeApiError, readApiError } from '../../src/gatewayapi/api-error.js'
import { API_ERROR_CODES, classifyApiError, codeNumber, formatCode } from '../../src/gatewayapi/error-codes.js'

t.test('codes as GatewayAPI writes them, and as numbers', async (t) => {
  t.equal(codeNumber('0x0215'), 0x0215)
  t.equal(codeNumber('0X021f'), 0x021F)
  t.equal(codeNumber(' 533 '), 533)
  t.equal(codeNumber(0x0216), 0x0216)
  t.equal(codeNumber('blacklisted'), undefined)
  t.equal(codeNumber(null), undefined)
  t.equal(codeNumber(-1), undefined)
  t.equal(formatCode(0x021F), '0x021F')
  t.equal(formatCode(0x0216), '0x0216')
})

t.test('each documented code has the meaning the relay acts on', async (t) => {
  const byClass = (c: string) => [...API_ERROR_CODES].filter(([, v]) => v === c).map(([k]) => formatCode(k))
  t.same(byClass('recipient'), ['0x0214', '0x0215', '0x0217', '0x021F'], 'blacklisted (for now or for good), country or operator not allowed')
  t.same(byClass('no-credit'), ['0x0216'])
  t.ok(['0x0210', '0x0211', '0x0212', '0x0213', '0x0223', '0x0224'].every((c) => byClass('credentials').includes(c)), 'username, password, IP address, consumer key, signature')
  t.ok(byClass('account').includes('0x021D'), 'SMS not enabled for the account')
  // The whole index, class by class: a code moved to another class changes what the relay does.
  t.same(byClass('credentials'), ['0x0210', '0x0211', '0x0212', '0x0213', '0x0221', '0x0223', '0x0224', '0x0225', '0x0226'], 'credentials: halt and probe')
  t.same(byClass('account'), ['0x0219', '0x021A', '0x021B', '0x021C', '0x021D', '0x021E', '0x0227', '0x0228'], 'account: halt and probe')
  t.same(byClass('request'), ['0x0218', '0x0220', '0x0222', '0x0310', '0x0311'], 'request: its messages fail')
  t.equal(API_ERROR_CODES.size, 27, 'every documented code, none other')
})

t.test('classification: the code decides; without a known one, the words may', async (t) => {
  t.equal(classifyApiError(0x0215, 'whatever'), 'recipient')
  t.equal(classifyApiError(0x0216, ''), 'no-credit')
  t.equal(classifyApiError(0x0210, 'Invalid username'), 'credentials')
  t.equal(classifyApiError(0x021D, ''), 'account')
  t.equal(classifyApiError(0x0220, 'Unsupported parameter label'), 'request')
  t.equal(classifyApiError(undefined, 'Insufficient credit'), 'no-credit')
  t.equal(classifyApiError(undefined, 'MSISDN 4512345678 blacklisted'), 'recipient')
  t.equal(classifyApiError(undefined, 'Unauthorized destination: country SE'), 'recipient')
  t.equal(classifyApiError(undefined, 'Operator not allowed'), 'recipient')
  t.equal(classifyApiError(0x9999, 'Invalid token'), undefined, 'an unknown code and words that say nothing we act on')
  t.equal(classifyApiError(undefined, 'Not authenticated'), undefined)
  t.equal(classifyApiError(undefined, 'IP address 192.0.2.7 is blacklisted'), undefined, 'a blacklisted IP address is no recipient\'s fault')
  t.equal(classifyApiError(undefined, 'Blacklisted number'), 'recipient')
  t.equal(classifyApiError(undefined, 'Destination country SE is not allowed for this account'), 'recipient')
})

t.test('GatewayAPI\'s REST error body: code, message with its variables filled, the number it names', async (t) => {
  const error = readApiError({ code: '0x0215', incident_uuid: 'f0e2…', message: 'MSISDN %1 blacklisted', variables: ['4512345678'] })
  t.same(error, { code: '0x0215', codeNumber: 0x0215, text: 'MSISDN 4512345678 blacklisted', msisdns: ['4512345678'] })
  t.equal(describeApiError(error), '0x0215 MSISDN 4512345678 blacklisted')
  t.same(readApiError({ code: '0x0216', message: 'Insufficient credit', variables: [] }), { code: '0x0216', codeNumber: 0x0216, text: 'Insufficient credit', msisdns: [] })
  t.same(readApiError({ code: '0x0214', message: 'Temporary blacklist for MSISDN %1 with hash %2', variables: ['+4512345678', 'ab12'] }).msisdns, ['4512345678'], 'a leading + is not part of the number')
  t.same(readApiError({ code: 533, message: 'MSISDN 4512345678 blacklisted' }), { code: '0x0215', codeNumber: 0x0215, text: 'MSISDN 4512345678 blacklisted', msisdns: ['4512345678'] }, 'a numeric code, a number in the words')
})

t.test('the FastAPI shapes of the Mobile Message API, and the webhook error shape', async (t) => {
  t.same(readApiError({ detail: { code: '0x0217', message: 'Unauthorized destination: country %1', variables: ['SE'] } }), { code: '0x0217', codeNumber: 0x0217, text: 'Unauthorized destination: country SE', msisdns: [] })
  t.same(readApiError({ detail: 'Invalid token' }), { code: null, codeNumber: undefined, text: 'Invalid token', msisdns: [] })
  t.same(readApiError({ detail: [{ loc: ['body'], msg: 'blacklisted recipient', type: 'value_error' }, { loc: ['body'], msg: 'x', type: 'y' }] }).text, 'blacklisted recipient; x')
  t.same(readApiError({ hex_code: '0x0216', details: 'Insufficient credit' }), { code: '0x0216', codeNumber: 0x0216, text: 'Insufficient credit', msisdns: [] })
  t.same(readApiError({ error: { hex_code: '0x0215', details: 'MSISDN blacklisted' } }), { code: '0x0215', codeNumber: 0x0215, text: 'MSISDN blacklisted', msisdns: [] })
  t.same(readApiError({ detail: { code: '0x0215', message: 'MSISDN blacklisted', recipient: 4512345678 } }).msisdns, ['4512345678'], 'a `recipient` field names the number')
})

t.test('anything else keeps its words only', async (t) => {
  t.same(readApiError('<html>Forbidden</html>'), { code: null, codeNumber: undefined, text: '<html>Forbidden</html>', msisdns: [] })
  t.same(readApiError(undefined), { code: null, codeNumber: undefined, text: '', msisdns: [] })
  t.same(readApiError([1, 2]), { code: null, codeNumber: undefined, text: '', msisdns: [] })
  t.same(readApiError({ message: 'MSISDN %1 blacklisted' }).text, 'MSISDN %1 blacklisted', 'a placeholder without a variable stays')
  t.same(readApiError({ message: 'version 1.2345 of x' }).msisdns, [], 'digits inside a larger token are no number')
})

t.test('a code is read whole or not at all', async (t) => {
  t.equal(codeNumber(0), 0, 'code 0 is a code')
  t.equal(codeNumber(' 0x0215 '), 0x0215, 'surrounding blanks are no part of it')
  t.equal(codeNumber('ab0x0215'), undefined)
  t.equal(codeNumber('0x0215zz'), undefined)
  t.equal(codeNumber('x533'), undefined)
  t.equal(codeNumber('533x'), undefined)
  t.equal(codeNumber('12345678901'), undefined, 'more digits than any code has')
  t.equal(codeNumber(2.5), undefined)
})

t.test('the fields of an error body, each read as GatewayAPI writes it', async (t) => {
  t.same(readApiError({ code: ' 0x0215 ', message: 'refused' }).code, '0x0215', 'blanks around the code dropped')
  t.same(readApiError({ code: '', message: 'refused' }).code, null, 'an empty code is none')
  t.same(readApiError({ code: 'ERR_BLOCKED', message: 'refused' }), { code: 'ERR_BLOCKED', codeNumber: undefined, text: 'refused', msisdns: [] }, 'a code that is no number is kept as written')
  t.same(readApiError({ code: '0x0216', message: 'Insufficient credit', error: { code: '0x0215' } }).code, '0x0216', 'a top-level code wins over an `error` member')
  t.same(readApiError({ message: 'x %1 %2', variables: [4512345678, { a: 1 }] }).text, 'x 4512345678 {"a":1}', 'variables of any type fill the placeholders')
  t.same(readApiError({ message: 'x %1', variables: 'not a list' }).text, 'x %1', 'variables that are no list fill nothing')
  t.same(readApiError({ message: 'v %10', variables: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] }).text, 'v j', 'a placeholder of two digits')
  t.same(readApiError({ message: 'refused', variables: [' 4512345678 '] }).msisdns, ['4512345678'], 'a variable that is a number names it, blanks dropped')
  t.same(readApiError({ message: 'hash %1', variables: ['ab12345'] }).msisdns, [], 'a variable that only ends in digits names no number')
  t.same(readApiError({ message: 'hash %1', variables: ['12345ab'] }).msisdns, [], 'a variable that only begins with digits names no number')
  t.same(readApiError({ detail: [null, { loc: ['body'] }, { msg: 'blacklisted recipient' }] }).text, 'blacklisted recipient', 'validation entries without a message add nothing')
  t.same(readApiError({ code: '   ', message: 'refused' }).code, null, 'a blank code is none')
  t.same(readApiError({ code: '0x0216', error: { code: '0x0215' } }).code, '0x0216', 'a top-level code wins over an `error` member, even without a message')
  t.same(readApiError({ message: 'refused', error: { message: 'other words' } }).text, 'refused', 'so do top-level words')
  t.same(readApiError({ error: null, message: 'refused' }).text, 'refused', 'a null `error` member is no error body')
  t.same(readApiError({ detail: null, message: 'refused' }).text, 'refused', 'a null `detail` is no error body')
  t.same(readApiError({ detail: 'Invalid token', code: '0x0210' }), { code: '0x0210', codeNumber: 0x0210, text: 'Invalid token', msisdns: [] }, 'a `detail` text beside a code keeps both')
  t.same(readApiError({ error: null }), { code: null, codeNumber: undefined, text: '', msisdns: [] }, 'nor is it when it is all there is')
  t.same(readApiError('MSISDN +4512345678 blacklisted (4512345678)').msisdns, ['4512345678'], 'a text-only answer names the number it speaks of, once')
  t.same(readApiError({ detail: [{ msg: 'recipient 4512345678 blacklisted' }] }).msisdns, ['4512345678'], 'so does a validation list')
  t.same(readApiError(null), { code: null, codeNumber: undefined, text: '', msisdns: [] }, 'a JSON null says nothing')
})

t.test('a refusal as a log line reads: its code, then its words', async (t) => {
  t.equal(describeApiError(readApiError({ detail: 'Invalid token' })), 'Invalid token', 'no code: the words alone')
  t.equal(describeApiError(readApiError({ code: '0x0216' })), '0x0216', 'no words: the code alone')
  t.equal(describeApiError(readApiError({ code: '0x0216', message: 'Insufficient credit' })), '0x0216 Insufficient credit')
})
