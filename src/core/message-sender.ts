/** One message as the relay hands it to a provider. */
export interface OutgoingMessage {
  reference: string
  senderId: string
  /** MSISDN digits. */
  msisdn: string
  text: string
  /**
   * How long the provider keeps trying to deliver (GatewayAPI's `expiration`, an ISO-8601
   * duration such as `P2D`): the registration's setting. Absent: the provider's default.
   */
  expiration?: string
  /** The provider's per-message label (GatewayAPI's `label`, ≤ 128 chars): the registration, so that usage can be invoiced per tenant. */
  label?: string
}

/**
 * What became of one request to the provider, in the dispatcher's terms:
 * - `sent`: accepted; provider ids by our reference (null where the answer did not say).
 * - `invalid`: refused for these messages only (a 422 naming them); none of the request was sent.
 * - `rejected`: refused for a recipient-level reason (blacklisted number, country or operator
 *   not allowed); none of the request was sent. `recipients` are the MSISDNs the answer named
 *   (empty when it did not say which): the dispatcher fails those, or splits the request to find them.
 * - `no-credit`: the account cannot pay; none of the request was sent. Pause, fail nothing.
 * - `too-large`: the request body was too large (413); none of it was sent. Split it.
 * - `refused`: the whole request was refused for good (another 4xx).
 * - `unauthorized`: our credentials, or the account, were refused (401, or a 403 saying so).
 * - `misconfigured`: the provider answered as if we called the wrong place or the wrong way
 *   (404, 405, 415): a configuration error, handled like `unauthorized`.
 * - `throttled`: slow down (429/503), for `retryAfterMs` when the provider said.
 * - `transient`: 5xx, a 3xx or a network error; `ambiguous` when the request may have arrived;
 *   `alert` when it points at a misconfiguration an operator must fix (logged at error).
 *
 * `code` is the provider's own error code when the answer carried one (GatewayAPI's `0x0216`).
 */
export type SendOutcome =
  | { kind: 'sent'; providerIds: Map<string, string | null> }
  | { kind: 'invalid'; invalid: Map<string, string> }
  | { kind: 'rejected'; status: number; code: string | null; reason: string; recipients: string[] }
  | { kind: 'no-credit'; status: number; code: string | null; reason: string }
  | { kind: 'too-large'; status: number; reason: string }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'unauthorized'; status: number; reason: string }
  | { kind: 'misconfigured'; status: number; reason: string }
  | { kind: 'throttled'; status: number; retryAfterMs: number | undefined }
  | { kind: 'transient'; reason: string; ambiguous: boolean; alert?: boolean }

/** The provider port the dispatcher sends through; it never throws for a provider's answer. */
export interface MessageSender {
  send(messages: OutgoingMessage[]): Promise<SendOutcome>
  close(): Promise<void>
}
