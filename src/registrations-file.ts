import { z } from 'zod'
import { countrySchema, expirationSchema, type Registration } from './registration.js'
import { ConfigError } from './config-error.js'
import { isRecommendedSender, SENDER_RULE_TEXT } from './gatewayapi/sender-rule.js'

const registrationSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores'),
  optimoveBaseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  optimoveApiPrefix: z.string().regex(/^\/[\w./-]*[^/]$/, 'must start with / and not end with /').optional(),
  appApiKey: z.string().min(1, 'must not be empty'),
  sharedSecret: z.string().min(1, 'must not be empty'),
  aggregatorApiKey: z.string().min(1, 'must not be empty'),
  senderId: z.string().refine(isRecommendedSender, SENDER_RULE_TEXT),
  inboundTo: z.string().min(1).optional(),
  defaultCountry: countrySchema.optional(),
  expiration: expirationSchema.optional()
})

const fileSchema = z.array(registrationSchema).min(1, 'must list at least one registration')
  .superRefine((list, ctx) => {
    const names = new Set<string>()
    const keys = new Set<string>()
    list.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'must be unique across registrations' })
      // The key alone tells us whose campaign a request is.
      if (keys.has(r.aggregatorApiKey)) ctx.addIssue({ code: 'custom', path: [i, 'aggregatorApiKey'], message: 'must be unique across registrations' })
      names.add(r.name)
      keys.add(r.aggregatorApiKey)
    })
  })

/**
 * Reads REGISTRATIONS_FILE: a JSON array of Optimove registrations (tenant/app), each with
 * its own base URL, credentials, aggregator key and sender. Errors name the file, the entry and
 * the field, never a secret's value.
 */
export function loadRegistrations (
  path: string,
  readFile: (path: string) => string,
  defaults: { optimoveApiPrefix: string; expiration: { text: string; ms: number }; defaultCountry?: string }
): Registration[] {
  let json: unknown
  try {
    json = JSON.parse(readFile(path))
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as NodeJS.ErrnoException).code ?? 'is not valid JSON'
    throw new ConfigError(`Invalid configuration: REGISTRATIONS_FILE ${path} ${reason}`)
  }
  const parsed = fileSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
    throw new ConfigError(`Invalid configuration: REGISTRATIONS_FILE ${path}${where} ${issue.code === 'invalid_type' && issue.path.length > 1 ? 'is missing or of the wrong type' : issue.message}`)
  }
  return parsed.data.map((r) => ({
    id: r.name,
    optimoveBaseUrl: r.optimoveBaseUrl.replace(/\/+$/, ''),
    optimoveApiPrefix: r.optimoveApiPrefix ?? defaults.optimoveApiPrefix,
    appApiKey: r.appApiKey,
    sharedSecret: r.sharedSecret,
    aggregatorApiKey: r.aggregatorApiKey,
    senderId: r.senderId,
    inboundTo: r.inboundTo ?? r.senderId,
    ...((r.defaultCountry ?? defaults.defaultCountry) === undefined ? {} : { defaultCountry: (r.defaultCountry ?? defaults.defaultCountry)! }),
    expiration: (r.expiration ?? defaults.expiration).text,
    expirationMs: (r.expiration ?? defaults.expiration).ms
  }))
}
