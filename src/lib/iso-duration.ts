// PnW, or PnDTnHnMnS (each part optional, at least one, whole numbers): the forms GatewayAPI's
// `expiration` takes for a duration (its OpenAPI `duration` format has no fractions). Years and
// months are refused: their length in days is not fixed.
const DURATION = /^P(?:(\d+)W|(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?)$/

/** An ISO-8601 duration (`P2D`, `PT12H`, `P1DT6H`, `P1W`) in milliseconds, or undefined when it is not one. */
export function parseIsoDuration (text: string): number | undefined {
  const m = DURATION.exec(text)
  if (m === null || text === 'P' || text.endsWith('T')) return undefined
  const [, weeks, days, hours, minutes, seconds] = m
  return (Number(weeks ?? 0) * 7 * 86_400 + Number(days ?? 0) * 86_400 + Number(hours ?? 0) * 3600 +
    Number(minutes ?? 0) * 60 + Number(seconds ?? 0)) * 1000
}
