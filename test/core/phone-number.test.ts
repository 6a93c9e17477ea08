import t from 'tap'
import { fitsGatewayApiRecipient, parseMobileNumber } from '../../src/core/phone-number.js'

// The reason of a refused number is the error detail of its delivery report: Optimove's
// operator reads it, so each refusal must say its own cause.
t.test('each refused number says why', async (t) => {
  const cases: Array<[string, string | undefined, string]> = [
    ['', undefined, 'mobile number is empty'],
    ['  ', 'DK', 'mobile number is empty'],
    ['+', undefined, 'mobile number has no digits'],
    ['( ) -', 'DK', 'mobile number has no digits'],
    ['45abc00001', undefined, 'mobile number has characters other than digits, spaces, dashes, dots, brackets and a leading +'],
    ['4520000001.0', undefined, 'mobile number is a decimal number'],
    ['4520000001.25', 'DK', 'mobile number is a decimal number'],
    ['20000001', undefined, 'mobile number is not a possible number with a country code, and there is no default country for national numbers'],
    ['20000001', 'ZZ', 'mobile number is not a possible number with a country code, and there is no default country for national numbers'],
    ['+4512', undefined, 'mobile number is not a possible phone number'],
    ['0045 12', undefined, 'mobile number is not a possible phone number'],
    ['12', 'DK', 'mobile number is not a possible phone number']
  ]
  for (const [given, country, reason] of cases) {
    t.same(parseMobileNumber(given, country), { ok: false, reason }, `${JSON.stringify(given)}${country === undefined ? '' : ` (${country})`}`)
  }
})

t.test('dots are separators unless the whole number reads as a decimal', async (t) => {
  t.same(parseMobileNumber('45.2000.0001'), { ok: true, msisdn: '4520000001' })
  t.same(parseMobileNumber('+45 20.00.00.01'), { ok: true, msisdn: '4520000001' })
})

t.test('a default country the numbering plan does not know is no default country', async (t) => {
  t.same(parseMobileNumber('+4520000001', 'ZZ'), { ok: true, msisdn: '4520000001' })
})

t.test('GatewayAPI\'s recipient: an integer above 1000 of at most 15 digits', async (t) => {
  t.equal(fitsGatewayApiRecipient('1001'), true)
  t.equal(fitsGatewayApiRecipient('123456789012345'), true, 'fifteen digits')
  t.equal(fitsGatewayApiRecipient('1000'), false, 'not above 1000')
  t.equal(fitsGatewayApiRecipient('999'), false)
  t.equal(fitsGatewayApiRecipient('1234567890123456'), false, 'sixteen digits')
  t.equal(fitsGatewayApiRecipient('01234'), false, 'a leading zero')
  t.equal(fitsGatewayApiRecipient('x4520000001'), false)
  t.equal(fitsGatewayApiRecipient('4520000001x'), false)
})
