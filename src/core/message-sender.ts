/** One message as the relay hands it to a provider. */
export interface OutgoingMessage {
  reference: string
  senderId: string
  /** MSISDN digits. */
  msisdn: string
  text: string
}

/**
 * What became of one request to the provider, in the dispatcher's terms:
 * - `sent`: accepted; provider ids by our reference (null where the answer did not say).
 * - `invalid`: refused for these messages only; none of the request was sent.
 * - `refused`: the whole request was refused for good (a 4xx other than 401/403/429).
 * - `unauthorized`: our credentials were refused (401/403): a configuration error.
 * - `throttled`: slow down (429/503), for `retryAfterMs` when the provider said.
 * - `transient`: 5xx, a 3xx or a network error; `ambiguous` when the request may have arrived;
 *   `alert` when it points at a misconfiguration an operator must fix (logged at error).
 */
export type SendOutcome =
  | { kind: 'sent'; providerIds: Map<string, string | null> }
  | { kind: 'invalid'; invalid: Map<string, string> }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'unauthorized'; status: number; reason: string }
  | { kind: 'throttled'; status: number; retryAfterMs: number | undefined }
  | { kind: 'transient'; reason: string; ambiguous: boolean; alert?: boolean }

/** The provider port the dispatcher sends through; it never throws for a provider's answer. */
export interface MessageSender {
  send(messages: OutgoingMessage[]): Promise<SendOutcome>
  close(): Promise<void>
}
