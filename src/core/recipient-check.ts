import { parseMobileNumber } from './phone-number.js'

/** GatewayAPI refuses longer texts (spec: `message` ≤ 39015 characters). */
export const MAX_TEXT_LENGTH = 39015

export type RecipientCheck =
  | { usable: true; msisdn: string }
  /** `msisdn` is then the number as given, or its MSISDN when only the text is unusable. */
  | { usable: false; msisdn: string; reason: string }

/**
 * Decides whether a recipient can be texted at all: its number must read as an MSISDN (see
 * parseMobileNumber; `defaultCountry` is the registration's, for national numbers) and its text
 * must be non-blank and within GatewayAPI's length. An unusable recipient is stored as failed and
 * reported, never allowed to reject its whole batch. A bad number is named before a bad text.
 */
export function checkRecipient (mobileNumber: string, text: string, defaultCountry?: string): RecipientCheck {
  const number = parseMobileNumber(mobileNumber, defaultCountry)
  if (!number.ok) return { usable: false, msisdn: mobileNumber, reason: number.reason }
  const { msisdn } = number
  if (text.trim().length === 0) return { usable: false, msisdn, reason: 'message text is empty' }
  if (text.length > MAX_TEXT_LENGTH) return { usable: false, msisdn, reason: `message text is longer than ${MAX_TEXT_LENGTH} characters` }
  return { usable: true, msisdn }
}
