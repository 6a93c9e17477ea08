import t from 'tap'
import { optOutIntent, optOutKeywords } from '../../src/core/opt-out.js'

t.test('a reply that is one opt-out keyword, in any case and with punctuation around it, is a STOP; START opts back in', async (t) => {
  const keywords = optOutKeywords()
  for (const text of ['STOP', 'stop', ' Stop! ', 'stop.', 'STOPALL', 'Unsubscribe', 'cancel', 'END', 'quit?', '¡STOP!']) t.equal(optOutIntent(text, keywords), 'stop', text)
  for (const text of ['START', 'start', 'Start.']) t.equal(optOutIntent(text, keywords), 'start', text)
  for (const text of ['don\'t stop', 'stop sending at night', 'STOPP', 'please stop', 'Hello', '', 'STARTS']) t.equal(optOutIntent(text, keywords), undefined, `"${text}" is a reply like any other`)
})

t.test('configured keywords add to the standard ones', async (t) => {
  const keywords = optOutKeywords(['Stopp', 'AFMELD'], ['tilmeld'])
  t.equal(optOutIntent('stopp', keywords), 'stop')
  t.equal(optOutIntent('Afmeld', keywords), 'stop')
  t.equal(optOutIntent('STOP', keywords), 'stop', 'the standard ones stay')
  t.equal(optOutIntent('TILMELD', keywords), 'start')
  t.equal(optOutIntent('start', keywords), 'start')
})
