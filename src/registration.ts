import { isSupportedCountry } from 'libphonenumber-js/min'
import { z } from 'zod'
import { isRecommendedSender, SENDER_RULE_TEXT } from './gatewayapi/sender-rule.js'
import { parseIsoDuration } from './lib/iso-duration.js'

/** One Optimove tenant+application we deliver for, with the credentials of both directions. */
export interface Registration {
  /** Stable name used in the store and in logs; never a secret. */
  id: string
  optimoveBaseUrl: string
  /** Path between the base URL and `/handshake`, `/delivery-report`, `/incoming-message`. */
  optimoveApiPrefix: string
  /** Sent by us as `app-api-key`. */
  appApiKey: string
  /** HMAC key of `x-hub-signature`, both directions. */
  sharedSecret: string
  /** Sent back by Optimove as `X-API-Key` on every campaign. */
  aggregatorApiKey: string
  /** Default sender of this registration's messages. */
  senderId: string
  /** `to` of the customer replies we forward (the number or sender they replied to). */
  inboundTo: string
  /** ISO 3166 alpha-2 country of national numbers (without a country code); none: numbers must carry one. */
  defaultCountry?: string
  /** GatewayAPI's `expiration` for this registration's messages, as sent (ISO-8601 duration). */
  expiration: string
  /** The same, in milliseconds: a message without a final status this long after sending (plus a grace) is ended. */
  expirationMs: number
  /** The most messages a second sent for this registration; none: as fast as the others allow. */
  maxMessagesPerSecond?: number
  /**
   * What of a GatewayAPI account the registration names itself (host, token, webhook secret); each
   * part it leaves out is the environment's (see gatewayApiAccounts). Absent: the environment's account.
   */
  gatewayapi?: Partial<GatewayApiAccount>
}

/** A GatewayAPI account: where its API is (`.com` or `.eu`), its token, and the secret its webhooks are signed with. */
export interface GatewayApiAccount {
  baseUrl: string
  token: string
  webhookSecret: string
}

/** ISO 3166 alpha-2, any case; kept upper case. */
export const countrySchema = z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 country code such as DK').transform((c) => c.toUpperCase())
  .refine((c) => isSupportedCountry(c), 'must be a country with a telephone numbering plan, such as DK')
/** GatewayAPI's `expiration`: an ISO-8601 duration of at most 5 days (GatewayAPI's maximum). */
export const expirationSchema = z.string().transform((text, ctx) => {
  const ms = parseIsoDuration(text)
  if (ms === undefined || ms <= 0 || ms > 5 * 86_400_000) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 duration of at most P5D, such as P2D or PT12H' })
    return z.NEVER
  }
  return { text, ms }
})

/** An http(s) URL without query or fragment (paths are appended to it). */
export const httpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((url) => !/[?#]/.test(url), 'must not have a query or fragment')
/** A credential: any text but an empty one. */
export const secretSchema = z.string().min(1, 'must not be empty')

/** A URL without its trailing slashes (paths are appended to it). */
export const withoutTrailingSlash = (url: string): string => url.replace(/\/+$/, '')

/**
 * The rules of each field of a registration, whichever way it is configured: the environment
 * (one registration, `OPTIMOVE_BASE_URL`, `SENDER_ID`, …) or REGISTRATIONS_FILE (several).
 */
export const registrationFields = {
  optimoveBaseUrl: httpUrlSchema,
  optimoveApiPrefix: z.string().regex(/^\/[\w./-]*[^/]$/, 'must start with / and not end with /'),
  appApiKey: secretSchema,
  sharedSecret: secretSchema,
  aggregatorApiKey: secretSchema,
  /** Configured senders are held to GatewayAPI's strict rule (see isRecommendedSender). */
  senderId: z.string().refine(isRecommendedSender, SENDER_RULE_TEXT),
  inboundTo: z.string().min(1),
  defaultCountry: countrySchema,
  expiration: expirationSchema,
  maxMessagesPerSecond: z.number().positive('must be more than 0').max(1_000_000, 'must be at most 1000000'),
  gatewayapiBaseUrl: httpUrlSchema,
  gatewayapiToken: secretSchema,
  gatewayapiWebhookSecret: secretSchema
}

/** A registration's fields once each passed its rule; the optional ones fall back to the defaults. */
export interface RegistrationInput {
  id: string
  optimoveBaseUrl: string
  optimoveApiPrefix?: string | undefined
  appApiKey: string
  sharedSecret: string
  aggregatorApiKey: string
  senderId: string
  inboundTo?: string | undefined
  defaultCountry?: string | undefined
  expiration?: { text: string; ms: number } | undefined
  maxMessagesPerSecond?: number | undefined
  gatewayapiBaseUrl?: string | undefined
  gatewayapiToken?: string | undefined
  gatewayapiWebhookSecret?: string | undefined
}

export interface RegistrationDefaults {
  optimoveApiPrefix: string
  expiration: { text: string; ms: number }
  defaultCountry?: string | undefined
}

/** The one way a Registration is made: trailing slashes dropped, defaults filled in. */
export function toRegistration (input: RegistrationInput, defaults: RegistrationDefaults): Registration {
  const defaultCountry = input.defaultCountry ?? defaults.defaultCountry
  const expiration = input.expiration ?? defaults.expiration
  return {
    id: input.id,
    optimoveBaseUrl: withoutTrailingSlash(input.optimoveBaseUrl),
    optimoveApiPrefix: input.optimoveApiPrefix ?? defaults.optimoveApiPrefix,
    appApiKey: input.appApiKey,
    sharedSecret: input.sharedSecret,
    aggregatorApiKey: input.aggregatorApiKey,
    senderId: input.senderId,
    // Replies are forwarded with the number or name the customer replied to: by default, the sender.
    inboundTo: input.inboundTo ?? input.senderId,
    ...(defaultCountry === undefined ? {} : { defaultCountry }),
    expiration: expiration.text,
    expirationMs: expiration.ms,
    ...(input.maxMessagesPerSecond === undefined ? {} : { maxMessagesPerSecond: input.maxMessagesPerSecond }),
    ...(input.gatewayapiBaseUrl === undefined && input.gatewayapiToken === undefined && input.gatewayapiWebhookSecret === undefined
      ? {}
      : {
          gatewayapi: {
            ...(input.gatewayapiBaseUrl === undefined ? {} : { baseUrl: withoutTrailingSlash(input.gatewayapiBaseUrl) }),
            ...(input.gatewayapiToken === undefined ? {} : { token: input.gatewayapiToken }),
            ...(input.gatewayapiWebhookSecret === undefined ? {} : { webhookSecret: input.gatewayapiWebhookSecret })
          }
        })
  }
}
