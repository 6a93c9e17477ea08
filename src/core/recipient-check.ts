/** GatewayAPI refuses longer texts (spec: `message` ≤ 39015 characters). */
export const MAX_TEXT_LENGTH = 39015

/** GatewayAPI's sender rule: 3-11 letters/digits, or 3-15 digits (longer ones get replaced by networks). */
export const SENDER_ID_PATTERN = /^(?:[A-Za-z0-9]{3,11}|\d{3,15})$/

export function isValidSenderId (sender: string): boolean {
  return SENDER_ID_PATTERN.test(sender)
}

export type RecipientCheck =
  | { usable: true; msisdn: string }
  | { usable: false; msisdn: string; reason: string }

const TRUNK_ZERO = /\(0\)/g
const SEPARATORS = /[\s\-.()]/g
// Country code first, so never a leading 0; 4-15 digits in all (E.164 allows 15).
const MSISDN = /^[1-9]\d{3,14}$/

/**
 * Normalises a mobile number to MSISDN digits (strips a bracketed trunk zero, spaces, dashes,
 * dots, brackets and a leading `+` or `00`) and decides whether the message can be sent at all. An unusable
 * recipient is stored as failed and reported, never allowed to reject its whole batch.
 */
export function checkRecipient (mobileNumber: string, text: string): RecipientCheck {
  // "+44 (0)20…": the bracketed trunk zero is dialled only inside the country.
  let msisdn = mobileNumber.replace(TRUNK_ZERO, '').replace(SEPARATORS, '')
  if (msisdn.startsWith('+')) msisdn = msisdn.slice(1)
  else if (msisdn.startsWith('00')) msisdn = msisdn.slice(2)
  if (!MSISDN.test(msisdn)) {
    return { usable: false, msisdn: mobileNumber, reason: 'mobile number is not 4-15 digits with a country code' }
  }
  if (text.trim().length === 0) return { usable: false, msisdn, reason: 'message text is empty' }
  if (text.length > MAX_TEXT_LENGTH) return { usable: false, msisdn, reason: `message text is longer than ${MAX_TEXT_LENGTH} characters` }
  return { usable: true, msisdn }
}
