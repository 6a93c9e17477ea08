/**
 * What the provider takes, asked at intake: a message the provider would refuse is failed
 * (and reported) when its campaign is stored, not sent. The provider's side implements it
 * (GatewayAPI: src/gatewayapi/provider-rules.ts); intake knows only this port.
 */
export interface ProviderRules {
  /** Whether the provider takes a sender, and the form to send it in. */
  checkSender(given: string): SenderCheck
  /**
   * Whether a recipient can be texted at all: its number read as an MSISDN (`defaultCountry`
   * is the registration's, for national numbers), and its text. A bad number is named before a bad text.
   */
  checkRecipient(mobileNumber: string, text: string, defaultCountry?: string): RecipientCheck
}

export type SenderCheck =
  /** Within the rule: networks should show it as it is. `sender` is the form to send. */
  | { verdict: 'ok'; sender: string }
  /** Accepted by the provider but at a risk of replacement; `reason` says why. */
  | { verdict: 'risky'; sender: string; reason: string }
  /** The provider would refuse it: the campaign's messages fail as `InvalidSender`. */
  | { verdict: 'invalid'; reason: string }

export type RecipientCheck =
  | { usable: true; msisdn: string }
  /** `msisdn` is then the number as given, or its MSISDN when only the text is unusable. */
  | { usable: false; msisdn: string; reason: string }
