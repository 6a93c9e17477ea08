import { parseMobileNumber } from '../core/phone-number.js'
import type { RecipientCheck } from '../core/provider-rules.js'

/** GatewayAPI refuses longer texts (spec: `message` ≤ 39015 characters). */
export const MAX_TEXT_LENGTH = 39015

/**
 * Decides whether a recipient can be texted at all: its number must read as an MSISDN (see
 * parseMobileNumber; `defaultCountry` is the registration's, for national numbers) that fits
 * GatewayAPI's `recipient`, and its text must be non-blank and within GatewayAPI's length. An
 * unusable recipient is stored as failed and reported, never allowed to reject its whole batch.
 * A bad number is named before a bad text.
 */
export function checkRecipient (mobileNumber: string, text: string, defaultCountry?: string): RecipientCheck {
  const number = parseMobileNumber(mobileNumber, defaultCountry, fitsGatewayApiRecipient)
  if (!number.ok) return { usable: false, msisdn: mobileNumber, reason: number.reason }
  const { msisdn } = number
  if (text.trim().length === 0) return { usable: false, msisdn, reason: 'message text is empty' }
  if (text.length > MAX_TEXT_LENGTH) return { usable: false, msisdn, reason: `message text is longer than ${MAX_TEXT_LENGTH} characters` }
  return { usable: true, msisdn }
}

/** GatewayAPI's `recipient` is an integer greater than 1000 of at most 15 digits (E.164's maximum). */
const GATEWAYAPI_RECIPIENT = /^[1-9]\d{3,14}$/
const GATEWAYAPI_RECIPIENT_MIN_EXCLUSIVE = 1000

/** Whether digits fit GatewayAPI's `recipient`: an integer above 1000 of at most 15 digits. */
export function fitsGatewayApiRecipient (msisdn: string): boolean {
  return GATEWAYAPI_RECIPIENT.test(msisdn) && Number(msisdn) > GATEWAYAPI_RECIPIENT_MIN_EXCLUSIVE
}
