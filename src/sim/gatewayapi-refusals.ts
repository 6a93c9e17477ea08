import { randomUUID } from 'node:crypto'
import { formatCode } from '../gatewayapi/error-codes.js'

/**
 * The account side of the simulated GatewayAPI: who may be texted, and whether the account
 * can pay. GatewayAPI refuses a whole request (403, nothing of it sent) when one of its
 * recipients is blacklisted or in a country or on an operator the account may not text, or
 * when the account lacks the credit for it; its answer is an API error with a code.
 */
export interface AccountPolicy {
  /** Numbers refused as blacklisted (`0x0215 MSISDN %1 blacklisted`). */
  blacklist: ReadonlySet<number>
  /** Dialling-code prefixes the account may not text (`0x0217 Unauthorized destination: country %1`). */
  forbiddenCountries: ReadonlySet<string>
  /**
   * Whether a refusal names the number it is about (in `variables` and its message), as
   * GatewayAPI's REST API does; off, the answer says only why, not whom.
   */
  nameRefusedRecipients: boolean
  /** Messages the account can still pay for (one each); undefined: unlimited. */
  credit: number | undefined
}

/** GatewayAPI's descriptions of its API error codes (its "Error code index"); `%1`, `%2` stand for the answer's `variables`. */
const DESCRIPTIONS: ReadonlyMap<number, string> = new Map([
  [0x0210, 'Invalid username: %1'],
  [0x0211, 'Invalid password'],
  [0x0212, 'Invalid IP-address: %1'],
  [0x0213, 'Unauthorized IP-address: %1'],
  [0x0214, 'Temporary blacklist for MSISDN %1 with hash %2'],
  [0x0215, 'MSISDN %1 blacklisted'],
  [0x0216, 'Insufficient credit'],
  [0x0217, 'Unauthorized destination: country %1'],
  [0x0218, 'Unknown message class id %1'],
  [0x0219, 'E-mail not enabled for account'],
  [0x021A, 'HLR not enabled for account'],
  [0x021B, 'Phonebook not enabled for account'],
  [0x021C, 'MMS not enabled for account'],
  [0x021D, 'SMS not enabled for account'],
  [0x021E, 'Message class %1 is not configured for %2'],
  [0x021F, 'Unauthorized operator: MCC %1, MNC %2'],
  [0x0220, 'Unsupported parameter %1'],
  [0x0221, 'Unsupported signature method %1'],
  [0x0222, 'Missing required parameter %1'],
  [0x0223, 'Invalid Consumer Key'],
  [0x0224, 'Invalid signature'],
  [0x0225, 'Expired timestamp'],
  [0x0226, 'Invalid / used nonce'],
  [0x0227, 'No push settings for account %1'],
  [0x0228, 'No push setting for VAS ID'],
  [0x0310, 'A message contains the same recipient more than once. MSISDNs %1 is duplicated'],
  [0x0311, 'Priority %1 not available']
])

/** One refusal: its status and GatewayAPI's error body. */
export interface Refusal { status: number; body: Record<string, unknown> }

/**
 * GatewayAPI's API error body: `{"code":"0x0215","message":"MSISDN 4512345678 blacklisted",
 * "variables":["4512345678"],"incident_uuid":"…"}`. Without variables the placeholders are
 * left out of the message, so that the answer names nothing.
 */
export function apiErrorBody (code: number, variables: readonly string[] = []): Record<string, unknown> {
  const template = DESCRIPTIONS.get(code) ?? 'Unknown error'
  const message = variables.length === 0
    ? template.replace(/:?\s*%\d+/g, '').trim()
    : template.replace(/%(\d+)/g, (whole, n: string) => variables[Number(n) - 1] ?? whole)
  return { code: formatCode(code), incident_uuid: randomUUID(), message, variables: [...variables] }
}

/** Whether GatewayAPI would refuse these (valid) items for a recipient or for credit; the first reason found. */
export function refusalOf (recipients: readonly number[], policy: AccountPolicy): Refusal | undefined {
  for (const recipient of recipients) {
    const name = policy.nameRefusedRecipients ? [String(recipient)] : []
    if (policy.blacklist.has(recipient)) return { status: 403, body: apiErrorBody(0x0215, name) }
    const digits = String(recipient)
    const country = [...policy.forbiddenCountries].find((prefix) => digits.startsWith(prefix))
    if (country !== undefined) return { status: 403, body: apiErrorBody(0x0217, policy.nameRefusedRecipients ? [country] : []) }
  }
  if (policy.credit !== undefined && recipients.length > policy.credit) return { status: 403, body: apiErrorBody(0x0216) }
  return undefined
}
