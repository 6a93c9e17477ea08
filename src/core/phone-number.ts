// The `min` metadata (about 80 kB): it knows every country's calling code, national prefix and
// possible lengths, which is all `isPossible()` needs. `max` adds the digit patterns behind a
// strict `isValid()` and number types; we do not use them on purpose: a stale pattern refuses
// freshly assigned number ranges, and whether a number is a mobile is for the network to say.
import { getCountryCallingCode, isSupportedCountry, parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/min'

export type MobileNumberCheck = { ok: true; msisdn: string } | { ok: false; reason: string }

/** Digits and the separators people write numbers with; one `+`, first or after an opening bracket. */
const WRITTEN_NUMBER = /^\(?\+?[\d\s().-]*$/
/** `4520000000.5`, `4520000001.0`: a number that went through a float, not a written number. */
const DECIMAL = /^\+?\d+\.\d+$/
/** What is not part of the digits: separators, and the bracketed trunk zero of `+44 (0)20 …` (dialled only inside the country). */
const NOT_DIGITS = /\(0\)|\D/g

/**
 * Reads a recipient's `mobileNumber` as GatewayAPI's MSISDN: E.164 digits without the `+`.
 *
 * The rule, in order:
 * - Only digits, spaces, dashes, dots, brackets and one leading `+` are a written number:
 *   letters (`ext. 5`, `4.5e9`), slashes and non-ASCII digits are refused, as is a decimal
 *   (`4520000001.0`), which a library would read with its dot as a separator.
 * - `+45…` and `0045…` carry their country code (`00` is the international prefix of most
 *   countries, and ITU's recommended one), whatever the default country.
 * - Other digits are read, in turn, as a national number of the registration's
 *   `defaultCountry` (when it has one) and as digits that start with a country code, as Optimove
 *   often sends them (`4520000001`); the first reading that libphonenumber finds possible wins.
 *   When the digits start with the default country's own calling code, the country-code reading
 *   goes first: a national number that begins with its country's code is the rarer case, and
 *   for countries of many number lengths both readings may be possible.
 * - A possible number must also pass `accept` (the provider's own rule, e.g. GatewayAPI's
 *   `recipient` range), else the next reading is tried.
 */
export function parseMobileNumber (given: string, defaultCountry?: string, accept: (msisdn: string) => boolean = () => true): MobileNumberCheck {
  const written = given.trim()
  if (written === '') return { ok: false, reason: 'mobile number is empty' }
  if (!WRITTEN_NUMBER.test(written)) return { ok: false, reason: 'mobile number has characters other than digits, spaces, dashes, dots, brackets and a leading +' }
  if (DECIMAL.test(written)) return { ok: false, reason: 'mobile number is a decimal number' }
  const digits = written.replace(NOT_DIGITS, '')
  if (digits === '') return { ok: false, reason: 'mobile number has no digits' }

  const country = defaultCountry !== undefined && isSupportedCountry(defaultCountry) ? defaultCountry : undefined
  const plus = written.includes('+')
  for (const reading of readingsOf(plus, digits, country)) {
    const msisdn = possibleMsisdn(reading.text, reading.country)
    if (msisdn !== undefined && accept(msisdn)) return { ok: true, msisdn }
  }
  if (country === undefined && !plus && !digits.startsWith('00')) {
    return { ok: false, reason: 'mobile number is not a possible number with a country code, and there is no default country for national numbers' }
  }
  return { ok: false, reason: 'mobile number is not a possible phone number' }
}

interface Reading { text: string; country?: CountryCode }

function readingsOf (plus: boolean, digits: string, country: CountryCode | undefined): Reading[] {
  if (plus) return [{ text: `+${digits}` }]
  if (digits.startsWith('00')) return [{ text: `+${digits.slice(2)}` }]
  const international: Reading = { text: `+${digits}` }
  if (country === undefined) return [international]
  const national: Reading = { text: digits, country }
  return digits.startsWith(getCountryCallingCode(country)) ? [international, national] : [national, international]
}

/** The text is digits, with a `+` first for an international reading. */
function possibleMsisdn (text: string, country: CountryCode | undefined): string | undefined {
  let number
  try {
    number = parsePhoneNumberWithError(text, { defaultCountry: country })
  } catch {
    // NOT_A_NUMBER, INVALID_COUNTRY, TOO_SHORT, TOO_LONG: not this reading.
    return undefined
  }
  if (!number.isPossible()) return undefined
  return number.number.slice(1)
}
