import t from 'tap'
import { checkRecipient, MAX_TEXT_LENGTH } from '../../src/core/recipient-check.js'

const TEXT = 'Hi, 20% off everything until Sunday. Reply STOP to opt out.'

t.test('normalises common ways of writing a number to MSISDN digits', async (t) => {
  const cases: Array<[string, string]> = [
    ['+45 20 00 00 01', '4520000001'],
    ['0045-2000-0001', '4520000001'],
    ['(45) 2000.0001', '4520000001'],
    ['4520000001', '4520000001'],
    ['+4520000001', '4520000001'],
    ['00 45 20 00 00 01', '4520000001'],
    ['+1 (212) 555-0100', '12125550100'],
    ['\t+45 2000 0001 ', '4520000001'],
    // The bracketed trunk zero is dialled only inside the country.
    ['+44 (0)20-7946.0018', '442079460018']
  ]
  for (const [input, digits] of cases) {
    t.same(checkRecipient(input, TEXT), { usable: true, msisdn: digits }, JSON.stringify(input))
  }
})

t.test('accepts 4 to 15 digits (E.164 allows 15)', async (t) => {
  t.same(checkRecipient('1234', TEXT), { usable: true, msisdn: '1234' }, '4 digits')
  t.same(checkRecipient('123456789012345', TEXT), { usable: true, msisdn: '123456789012345' }, '15 digits')
  t.same(checkRecipient('+1 234 567 890 123 45', TEXT), { usable: true, msisdn: '123456789012345' }, '15 digits after separators and +')
})

t.test('refuses numbers that cannot be an MSISDN', async (t) => {
  const unusable: Array<[string, string]> = [
    ['123', 'too short (3 digits)'],
    ['+45', 'too short after stripping +'],
    ['1234567890123456', 'too long (16 digits)'],
    ['+45 2000 0001 2345 678', 'too long after stripping (17 digits)'],
    ['45abc00001', 'letters'],
    ['45200000O1', 'a letter O for a zero'],
    ['0 20 00 00 01', 'leading 0 (national format)'],
    ['+0452000001', 'leading 0 after stripping +'],
    ['000452000001', 'leading 0 after stripping 00'],
    ['', 'empty'],
    ['   ', 'only spaces'],
    ['+', 'only a plus'],
    ['00', 'only the international prefix'],
    ['++4520000001', 'two plus signs'],
    ['45+20000001', 'a plus in the middle'],
    ['45/2000/0001', 'slashes are not a separator'],
    ['４５２０００００１', 'full-width digits']
  ]
  for (const [input, why] of unusable) {
    const result = checkRecipient(input, TEXT)
    t.equal(result.usable, false, `${why}: ${JSON.stringify(input)}`)
    if (!result.usable) {
      // The stored number of a refused recipient is what Optimove sent, untouched.
      t.equal(result.msisdn, input, `${why}: keeps the original number`)
      t.match(result.reason, /mobile number/, `${why}: reason says the number is the problem`)
    }
  }
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
