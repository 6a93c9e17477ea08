import t from 'tap'
import { checkRecipient, fitsGatewayApiRecipient, MAX_TEXT_LENGTH } from '../../src/gatewayapi/recipient-rule.js'

const TEXT = 'Hi, 20% off everything until Sunday. Reply STOP to opt out.'

// [mobileNumber as Optimove sends it, the registration's default country, MSISDN or undefined when unusable]
const NUMBERS: Array<[string, string | undefined, string | undefined, string]> = [
  // With a country code, any default country.
  ['+45 20 00 00 01', undefined, '4520000001', 'international with +'],
  ['+45 20 00 00 01', 'DK', '4520000001', 'international with +, default country set'],
  ['+45 20 00 00 01', 'SE', '4520000001', 'a + number ignores another default country'],
  ['0045 20 00 00 01', undefined, '4520000001', '00 international prefix'],
  ['0045-2000-0001', 'DK', '4520000001', '00 international prefix with dashes'],
  ['4520000001', undefined, '4520000001', 'digits with country code, no plus (what Optimove often sends)'],
  ['4520000001', 'DK', '4520000001', 'digits with the default country\'s own code'],
  ['4712345678', 'DK', '4712345678', 'digits with a foreign country code: the national reading is impossible'],
  ['+45 20-00-00-01', undefined, '4520000001', 'dashes'],
  ['(+45) 2000.0001', undefined, '4520000001', 'bracketed code, dots'],
  ['\t+45 2000 0001 ', undefined, '4520000001', 'surrounding whitespace'],
  ['+44 (0)20-7946.0018', undefined, '442079460018', 'the bracketed trunk zero is dialled only inside the country'],
  ['+1 (212) 555-0100', undefined, '12125550100', 'North America'],
  ['4915112345678', 'DE', '4915112345678', 'digits starting with the default country\'s code read as international first'],
  // National numbers need the default country.
  ['20000001', 'DK', '4520000001', 'national number, default DK'],
  ['20 00 00 01', 'DK', '4520000001', 'national number with spaces, default DK'],
  ['45123456', 'DK', '4545123456', 'a DK national number that starts with 45 stays national (+45 123456 is impossible)'],
  ['020 7946 0018', 'GB', '442079460018', 'national number with its trunk zero, default GB'],
  ['015112345678', 'DE', '4915112345678', 'national number with its trunk zero, default DE'],
  ['20000001', undefined, undefined, 'national number without a default country'],
  ['020 7946 0018', undefined, undefined, 'trunk zero without a default country'],
  // Not a number at all, or not a possible one.
  ['4520000001.0', undefined, undefined, 'a decimal (a number that went through a float)'],
  ['4520000000.5', 'DK', undefined, 'a decimal, default country set'],
  ['12', undefined, undefined, 'two digits'],
  ['12', 'DK', undefined, 'two digits, default DK'],
  ['1000', undefined, undefined, 'GatewayAPI wants more than 1000'],
  ['+1000', undefined, undefined, 'GatewayAPI wants more than 1000, with +'],
  ['+4512', undefined, undefined, 'too short for its country'],
  ['+45 2000 0001 2345', undefined, undefined, 'too long for its country'],
  ['+999 1234567', undefined, undefined, 'no such country code'],
  ['1234567890123456', undefined, undefined, 'sixteen digits'],
  ['45abc00001', undefined, undefined, 'letters'],
  ['45200000O1', undefined, undefined, 'a letter O for a zero'],
  ['+45 2000 0001 ext. 5', undefined, undefined, 'an extension'],
  ['4.520000001e9', undefined, undefined, 'a float in exponent form'],
  ['45/2000/0001', undefined, undefined, 'slashes are not a separator'],
  ['４５２０００００１', undefined, undefined, 'full-width digits'],
  ['++4520000001', undefined, undefined, 'two plus signs'],
  ['45+20000001', undefined, undefined, 'a plus in the middle'],
  ['+0452000001', undefined, undefined, 'leading 0 after +'],
  ['', 'DK', undefined, 'empty'],
  ['   ', 'DK', undefined, 'only spaces'],
  ['+', undefined, undefined, 'only a plus'],
  ['00', 'DK', undefined, 'only the international prefix']
]

t.test('numbers, with and without a default country: stored MSISDN or unusable', async (t) => {
  for (const [input, country, msisdn, why] of NUMBERS) {
    const result = checkRecipient(input, TEXT, country)
    const label = `${why}: ${JSON.stringify(input)}${country === undefined ? '' : ` (${country})`}`
    if (msisdn !== undefined) {
      t.same(result, { usable: true, msisdn }, label)
    } else {
      t.equal(result.usable, false, label)
      // The stored number of a refused recipient is what Optimove sent, untouched.
      t.equal(result.msisdn, input, `${label}: keeps the original number`)
      if (!result.usable) t.match(result.reason, /mobile number/, `${label}: the reason names the number`)
    }
  }
})

t.test('a national number without a default country says what is missing', async (t) => {
  const result = checkRecipient('20000001', TEXT)
  t.equal(result.usable, false)
  if (!result.usable) t.match(result.reason, /no default country/)
  const decimal = checkRecipient('4520000001.0', TEXT)
  if (!decimal.usable) t.match(decimal.reason, /decimal/)
})

t.test('refuses empty or whitespace-only text', async (t) => {
  for (const text of ['', ' ', '   ', '\n', '\t \r\n']) {
    const result = checkRecipient('+45 20 00 00 01', text)
    t.equal(result.usable, false, JSON.stringify(text))
    if (!result.usable) {
      t.equal(result.msisdn, '4520000001', 'the number is still normalised')
      t.match(result.reason, /empty/, 'reason says the text is empty')
    }
  }
})

t.test('refuses text longer than MAX_TEXT_LENGTH', async (t) => {
  t.equal(MAX_TEXT_LENGTH, 39015, 'GatewayAPI\'s documented maximum')
  t.same(checkRecipient('4520000001', 'x'.repeat(MAX_TEXT_LENGTH)), { usable: true, msisdn: '4520000001' }, 'exactly the maximum is sent')
  const over = checkRecipient('4520000001', 'x'.repeat(MAX_TEXT_LENGTH + 1))
  t.equal(over.usable, false, 'one character over is refused')
  if (!over.usable) {
    t.equal(over.msisdn, '4520000001')
    t.match(over.reason, String(MAX_TEXT_LENGTH), 'reason names the limit')
  }
})

t.test('text with real content is usable, even with surrounding whitespace', async (t) => {
  t.same(checkRecipient('4520000001', '  hello  '), { usable: true, msisdn: '4520000001' })
  t.same(checkRecipient('4520000001', '.'), { usable: true, msisdn: '4520000001' }, 'one visible character')
})

t.test('a bad number is reported before a bad text', async (t) => {
  const result = checkRecipient('abc', '')
  t.equal(result.usable, false)
  if (!result.usable) t.match(result.reason, /mobile number/)
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
