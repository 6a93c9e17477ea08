import { z } from 'zod'
import { registrationFields, toRegistration, type Registration, type RegistrationDefaults } from './registration.js'
import { ConfigError } from './config-error.js'

const registrationSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dots, dashes or underscores'),
  optimoveBaseUrl: registrationFields.optimoveBaseUrl,
  optimoveApiPrefix: registrationFields.optimoveApiPrefix.optional(),
  appApiKey: registrationFields.appApiKey,
  sharedSecret: registrationFields.sharedSecret,
  aggregatorApiKey: registrationFields.aggregatorApiKey,
  senderId: registrationFields.senderId,
  inboundTo: registrationFields.inboundTo.optional(),
  defaultCountry: registrationFields.defaultCountry.optional(),
  expiration: registrationFields.expiration.optional(),
  maxMessagesPerSecond: registrationFields.maxMessagesPerSecond.optional(),
  gatewayapiBaseUrl: registrationFields.gatewayapiBaseUrl.optional(),
  gatewayapiToken: registrationFields.gatewayapiToken.optional(),
  gatewayapiWebhookSecret: registrationFields.gatewayapiWebhookSecret.optional()
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
  defaults: RegistrationDefaults
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
    // Every problem of the file at once, one line each.
    throw new ConfigError(parsed.error.issues.map((issue) => {
      const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
      return `Invalid configuration: REGISTRATIONS_FILE ${path}${where} ${issue.code === 'invalid_type' && issue.path.length > 1 ? 'is missing or of the wrong type' : issue.message}`
    }).join('\n'))
  }
  return parsed.data.map(({ name, ...fields }) => toRegistration({ id: name, ...fields }, defaults))
}
