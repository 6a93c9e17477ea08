import type { Registration } from '../config.js'
import { secretsEqual } from '../lib/constant-time.js'

/**
 * Finds the registration whose aggregator API key was presented. Every registration is
 * compared, in constant time each, so the answer's timing tells nothing about the keys.
 */
export function findRegistrationByApiKey (registrations: readonly Registration[], key: string | string[] | undefined): Registration | undefined {
  if (typeof key !== 'string' || key.length === 0) return undefined
  let found: Registration | undefined
  for (const registration of registrations) {
    if (secretsEqual(key, registration.aggregatorApiKey) && found === undefined) found = registration
  }
  return found
}
