import t from 'tap'
import { checkSender, isRecommendedSender } from '../../src/gatewayapi/sender-rule.js'

// [sender as given, verdict, the form sent (ok and risky), why]
const SENDERS: Array<[string, 'ok' | 'risky' | 'invalid', string | undefined, string]> = [
  ['Brand', 'ok', 'Brand', 'letters'],
  ['Abc', 'ok', 'Abc', '3 letters, the shortest'],
  ['ABCDEFGHIJK', 'ok', 'ABCDEFGHIJK', '11 letters, the longest alphanumeric without risk'],
  ['Brand2024', 'ok', 'Brand2024', 'letters and digits'],
  ['123', 'ok', '123', '3 digits'],
  ['123456789012345', 'ok', '123456789012345', '15 digits, the longest numeric without risk'],
  ['+4512345678', 'ok', '4512345678', 'a numeric sender\'s + is stripped'],
  ['004512345678', 'ok', '4512345678', 'a numeric sender\'s 00 is stripped'],
  ['007', 'ok', '007', 'a 00 that would leave fewer than 3 digits is kept'],
  ['00123', 'ok', '123', 'a 00 that leaves exactly 3 digits is stripped'],
  ['00Brand', 'ok', '00Brand', 'a 00 before letters is part of the name'],
  ['+Brand', 'risky', '+Brand', 'a + before letters is part of the name, and no letter or digit'],
  ['My-123', 'risky', 'My-123', 'ending in digits does not make a sender numeric'],
  ['123-AB', 'risky', '123-AB', 'nor does starting with them'],
  ['  Brand  ', 'ok', 'Brand', 'trimmed before it is checked and sent'],
  ['ABCDEFGHIJKL', 'risky', 'ABCDEFGHIJKL', '12 letters: networks may replace it'],
  ['Brand With Spaces', 'risky', 'Brand With Spaces', 'spaces'],
  ['B&O', 'risky', 'B&O', 'an ampersand'],
  ['Brand-DK', 'risky', 'Brand-DK', 'a dash'],
  ['Brønd', 'risky', 'Brønd', 'non-ASCII letters'],
  ['1234567890123456', 'risky', '1234567890123456', '16 digits'],
  ['+123456789012345678', 'risky', '123456789012345678', '18 digits after the +'],
  ['ABCDEFGHIJKLMNOPQR', 'risky', 'ABCDEFGHIJKLMNOPQR', '18 characters, GatewayAPI\'s maximum'],
  ['ØØØØØØØØØØØØØØØØØØ', 'risky', 'ØØØØØØØØØØØØØØØØØØ', '18 non-ASCII characters count as 18, not by bytes'],
  ['ABCDEFGHIJKLMNOPQRS', 'invalid', undefined, '19 characters'],
  ['1234567890123456789', 'invalid', undefined, '19 digits'],
  ['AB', 'invalid', undefined, '2 characters'],
  ['+12', 'invalid', undefined, '2 digits after the +'],
  ['', 'invalid', undefined, 'empty'],
  ['   ', 'invalid', undefined, 'blank'],
  [' A ', 'invalid', undefined, 'one character once trimmed']
]

t.test('GatewayAPI\'s sender rule: ok, risky (sent with a warning) or invalid', async (t) => {
  for (const [given, verdict, sent, why] of SENDERS) {
    const check = checkSender(given)
    t.equal(check.verdict, verdict, `${why}: ${JSON.stringify(given)}`)
    if (check.verdict !== 'invalid') t.equal(check.sender, sent, `${why}: sent as ${JSON.stringify(sent)}`)
    if (check.verdict !== 'ok') t.ok(check.reason.length > 0, `${why}: has a reason`)
  }
})

t.test('a risky sender\'s reason names its risk', async (t) => {
  const spaces = checkSender('Brand With Spaces')
  t.match(spaces.verdict === 'risky' ? spaces.reason : '', /longer than 11 characters and has characters other than A-Z/)
  const long = checkSender('1234567890123456')
  t.match(long.verdict === 'risky' ? long.reason : '', /longer than 15 digits/)
  t.same(checkSender('  '), { verdict: 'invalid', reason: 'sender id is empty' }, 'a blank sender is called empty')
  const short = checkSender('AB')
  t.match(short.verdict === 'invalid' ? short.reason : '', /not 3-18 characters/)
})

t.test('configured senders are held to the strict rule', async (t) => {
  for (const sender of ['Brand', 'ABCDEFGHIJK', '123456789012345', '+4512345678']) t.ok(isRecommendedSender(sender), sender)
  for (const sender of ['ABCDEFGHIJKL', 'Brand Name', 'B&O', '1234567890123456', 'AB', '', ' Brand']) t.notOk(isRecommendedSender(sender), JSON.stringify(sender))
})
