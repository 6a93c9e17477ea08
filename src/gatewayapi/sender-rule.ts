import type { SenderCheck } from '../core/provider-rules.js'

/**
 * GatewayAPI's sender rule, as its API states it (`MobileMessageRequest.sender`): 3 to 18
 * characters; "at most either 11 characters alphanumeric or 15 numeric characters"; other
 * characters than `[A-Za-z0-9]` carry "a greater risk of replacement or rejection during
 * processing by systems closer to the destination".
 *
 * So only what GatewayAPI's schema itself refuses is refused here (under 3 or over 18
 * characters, or nothing at all once trimmed); a sender that merely breaks the 11/15 advice or
 * uses other characters is sent, with a warning, since GatewayAPI and the networks may still
 * take it and refusing it would fail a whole campaign that might have been delivered.
 */

/** GatewayAPI's schema bounds of `sender`, whatever its characters. */
export const SENDER_MIN_LENGTH = 3
export const SENDER_MAX_LENGTH = 18
/** Longest sender that networks show unchanged: alphanumeric, and numeric. */
export const ALPHANUMERIC_SENDER_MAX_LENGTH = 11
export const NUMERIC_SENDER_MAX_LENGTH = 15

/** What configured senders must be, in the words of the configuration errors. */
export const SENDER_RULE_TEXT = 'must be 3-11 letters/digits or 3-15 digits (GatewayAPI\'s rule for senders that networks do not replace)'

const NUMERIC = /^\+?\d+$/
const ALPHANUMERIC = /^[A-Za-z0-9]+$/

/**
 * Checks a sender and gives the form to send: trimmed, and a numeric sender (a phone number)
 * without its leading `+` or `00`, which GatewayAPI's numeric senders do not carry. A `00` is
 * kept when fewer than 3 digits would remain (`007` is a short code, not an international prefix).
 * Lengths count characters (code points), as GatewayAPI's schema does.
 */
export function checkSender (given: string): SenderCheck {
  let sender = given.trim()
  if (sender === '') return { verdict: 'invalid', reason: 'sender id is empty' }
  const numeric = NUMERIC.test(sender)
  if (numeric) {
    if (sender.startsWith('+')) sender = sender.slice(1)
    else if (sender.startsWith('00') && sender.length - 2 >= SENDER_MIN_LENGTH) sender = sender.slice(2)
  }
  const length = [...sender].length
  if (length < SENDER_MIN_LENGTH || length > SENDER_MAX_LENGTH) {
    return { verdict: 'invalid', reason: `sender id "${given}" is not ${SENDER_MIN_LENGTH}-${SENDER_MAX_LENGTH} characters` }
  }
  if (numeric) {
    return length <= NUMERIC_SENDER_MAX_LENGTH
      ? { verdict: 'ok', sender }
      : { verdict: 'risky', sender, reason: `numeric sender id "${sender}" is longer than ${NUMERIC_SENDER_MAX_LENGTH} digits` }
  }
  const risks: string[] = []
  if (length > ALPHANUMERIC_SENDER_MAX_LENGTH) risks.push(`longer than ${ALPHANUMERIC_SENDER_MAX_LENGTH} characters`)
  if (!ALPHANUMERIC.test(sender)) risks.push('has characters other than A-Z, a-z and 0-9')
  if (risks.length === 0) return { verdict: 'ok', sender }
  return { verdict: 'risky', sender, reason: `sender id "${sender}" ${risks.join(' and ')}: networks may replace or reject it` }
}

/**
 * Whether a configured sender is within GatewayAPI's rule without any risk. Configuration is
 * held to the strict rule, unlike campaigns: an operator can fix a sender before startup,
 * while a campaign's sender is Optimove's and is sent if GatewayAPI would take it at all.
 */
export function isRecommendedSender (sender: string): boolean {
  return sender === sender.trim() && checkSender(sender).verdict === 'ok'
}
