import { codeNumber, formatCode } from './error-codes.js'

/** A refusal from GatewayAPI as we read it, whatever shape its body had. */
export interface ApiError {
  /** GatewayAPI's code as it writes it (`0x0215`), or null when the answer had none. */
  code: string | null
  /** The same code as a number, for lookups. */
  codeNumber: number | undefined
  /** The answer's own words, `%1`, `%2` filled in from its `variables`; empty when it had none. */
  text: string
  /** MSISDNs (digits) the answer names, in its variables or its words: who was refused. */
  msisdns: string[]
}

const MSISDN = /^\+?(\d{4,15})$/
const MSISDN_IN_TEXT = /(?<![\w.])\+?(\d{4,15})(?![\w.])/g

/**
 * Reads a GatewayAPI error body. GatewayAPI's APIs answer errors as
 * `{"code":"0x0215","message":"MSISDN %1 blacklisted","variables":["4512345678"],"incident_uuid":"…"}`;
 * the FastAPI-based Mobile Message API wraps errors in `detail` (`{"detail":"…"}`,
 * `{"detail":{"code":…,"message":…}}`, or a validation list), and its status events carry
 * `{"hex_code","details"}`. Every one of these is read; anything else keeps its text only.
 */
export function readApiError (body: unknown): ApiError {
  if (typeof body === 'string') return fromText(body)
  if (typeof body !== 'object' || body === null) return fromText('')
  const record = body as Record<string, unknown>
  const detail = record.detail
  if (Array.isArray(detail)) {
    const text = detail.map((d) => String((d as { msg?: unknown } | null)?.msg ?? '')).filter((m) => m !== '').join('; ')
    return fromText(text)
  }
  if (typeof detail === 'object' && detail !== null) return fromRecord(detail as Record<string, unknown>)
  if (typeof record.error === 'object' && record.error !== null && !('code' in record) && !('message' in record)) return fromRecord(record.error as Record<string, unknown>)
  return fromRecord(record)
}

function fromRecord (r: Record<string, unknown>): ApiError {
  const rawCode = r.code ?? r.hex_code
  const number = codeNumber(rawCode)
  const code = typeof rawCode === 'string' && rawCode.trim() !== '' ? rawCode.trim() : number === undefined ? null : formatCode(number)
  const variables = Array.isArray(r.variables) ? r.variables.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) : []
  const words = [r.message, r.details, r.msg, r.detail].find((w): w is string => typeof w === 'string') ?? ''
  const text = fill(words, variables)
  const named = new Set<string>()
  for (const v of [...variables, r.recipient, r.msisdn]) {
    const m = MSISDN.exec(String(v).trim())
    if (m !== null) named.add(m[1]!)
  }
  for (const m of text.matchAll(MSISDN_IN_TEXT)) named.add(m[1]!)
  return { code, codeNumber: number, text, msisdns: [...named] }
}

function fromText (text: string): ApiError {
  return { code: null, codeNumber: undefined, text, msisdns: [...new Set([...text.matchAll(MSISDN_IN_TEXT)].map((m) => m[1]!))] }
}

/** `%1`, `%2`… replaced by the variables (a placeholder without a variable is left as it is). */
function fill (template: string, variables: readonly string[]): string {
  return template.replace(/%(\d+)/g, (whole, n: string) => variables[Number(n) - 1] ?? whole)
}

/** How a refusal reads in a log line or a report: its code, then its words. */
export function describeApiError (error: ApiError): string {
  if (error.code === null) return error.text
  return error.text === '' ? error.code : `${error.code} ${error.text}`
}
