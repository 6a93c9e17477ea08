import { request, type Dispatcher } from 'undici'
import type { Registration } from '../config.js'
import { signHubSignature } from '../lib/hmac-signature.js'

export interface OptimoveReply {
  status: number
  /** Parsed JSON when the reply is JSON, else the text, else undefined. */
  body: unknown
}

/** `<BASE_URL><prefix><endpoint>`: the base URL is opaque, its trailing `/` already stripped. */
export function optimoveUrl (registration: Registration, endpoint: string): string {
  return `${registration.optimoveBaseUrl}${registration.optimoveApiPrefix}${endpoint}`
}

/**
 * POSTs a JSON body to one of Optimove's aggregator endpoints: serialised once, those
 * exact bytes signed (`x-hub-signature`) and sent, with the registration's `app-api-key`.
 * Network errors reject; every HTTP status resolves, its body always consumed.
 */
export async function postToOptimove (
  registration: Registration,
  endpoint: string,
  /** An object to serialise, or JSON text already serialised (sent byte for byte). */
  payload: unknown,
  options: { dispatcher?: Dispatcher; timeoutMs?: number; signal?: AbortSignal } = {}
): Promise<OptimoveReply> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  const timeoutMs = options.timeoutMs ?? 10_000
  const res = await request(optimoveUrl(registration, endpoint), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      'app-api-key': registration.appApiKey,
      'x-hub-signature': signHubSignature(body, registration.sharedSecret)
    },
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  const text = await res.body.text()
  let parsed: unknown = text === '' ? undefined : text
  if (text !== '' && String(res.headers['content-type'] ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text)
    } catch {
      // Keep the text: a malformed error body is still worth logging.
    }
  }
  return { status: res.statusCode, body: parsed }
}
