import t from 'tap'
import { parseMobileNumber } from '../../src/core/phone-number.js'

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

t.test('a reading the caller\'s rule refuses gives way to the next one', async (t) => {
  // 4520000001 read as a Danish national number is impossible; as +45 20000001 it is possible.
  t.same(parseMobileNumber('20000001', 'DK', (msisdn) => msisdn !== '4520000001'), { ok: false, reason: 'mobile number is not a possible phone number' })
  t.same(parseMobileNumber('4520000001', 'DK', (msisdn) => msisdn === '4520000001'), { ok: true, msisdn: '4520000001' })
})
