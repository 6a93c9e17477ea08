import t from 'tap'
import { parseIsoDuration } from '../../src/lib/iso-duration.js'

t.test('ISO-8601 durations as GatewayAPI takes them', async (t) => {
  const table: Array<[string, number | undefined]> = [
    ['P2D', 2 * 86_400_000],
    ['P5D', 5 * 86_400_000],
    ['PT12H', 12 * 3_600_000],
    ['P1DT6H30M', 86_400_000 + 6 * 3_600_000 + 30 * 60_000],
    ['PT90S', 90_000],
    ['PT1.5S', undefined],
    ['P1W', 7 * 86_400_000],
    ['P', undefined],
    ['PT', undefined],
    ['P1DT', undefined],
    ['P1M', undefined],
    ['P1Y', undefined],
    ['2D', undefined],
    ['p2d', undefined],
    ['', undefined]
  ]
  for (const [text, ms] of table) t.equal(parseIsoDuration(text), ms, text)
})
